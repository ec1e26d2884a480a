/** The part of autocannon 8's API the bench uses (the package ships no types). */
declare module "autocannon" {
  import type { EventEmitter } from "node:events"

  namespace autocannon {
    interface Options {
      readonly url: string
      readonly connections?: number
      /** Seconds. */
      readonly duration?: number
      readonly pipelining?: number
      readonly method?: string
      readonly headers?: Readonly<Record<string, string>>
      readonly body?: string
      /** Seconds before a request counts as a timeout. */
      readonly timeout?: number
    }

    interface Result {
      readonly duration: number
      readonly errors: number
      readonly timeouts: number
      readonly non2xx: number
      readonly "2xx": number
      readonly totalCompletedRequests: number
    }

    interface Instance extends EventEmitter {
      stop(): void
      on(event: "response", listener: (client: unknown, statusCode: number, resBytes: number, responseTime: number) => void): this
    }
  }

  function autocannon(options: autocannon.Options, callback: (error: Error | null, result: autocannon.Result) => void): autocannon.Instance

  export = autocannon
}
