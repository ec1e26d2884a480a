import { Effect } from "effect"
import { type Server, type Socket, createConnection, createServer } from "node:net"

/**
 * A TCP proxy on a local port towards `target`, with a switch: `cut` drops every connection and
 * refuses new ones (the database "goes away"), `restore` lets traffic through again.
 */
export const tcpProxy = (target: { readonly host: string; readonly port: number } | { readonly path: string }) =>
  Effect.gen(function* () {
    const sockets = new Set<Socket>()
    let up = true
    const server = yield* Effect.acquireRelease(
      Effect.async<Server>((resume) => {
        const s = createServer((client) => {
          if (!up) {
            client.destroy()
            return
          }
          const upstream = "path" in target ? createConnection(target.path) : createConnection(target.port, target.host)
          sockets.add(client)
          sockets.add(upstream)
          const drop = () => {
            client.destroy()
            upstream.destroy()
            sockets.delete(client)
            sockets.delete(upstream)
          }
          client.on("error", drop).on("close", drop)
          upstream.on("error", drop).on("close", drop)
          client.pipe(upstream).pipe(client)
        })
        s.listen(0, "127.0.0.1", () => resume(Effect.succeed(s)))
      }),
      (s) =>
        Effect.async<boolean>((resume) => {
          for (const socket of sockets) socket.destroy()
          s.close(() => resume(Effect.succeed(true)))
        })
    )
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    return {
      port,
      cut: Effect.sync(() => {
        up = false
        for (const socket of sockets) socket.destroy()
        sockets.clear()
      }),
      restore: Effect.sync(() => {
        up = true
      })
    }
  })
