/**
 * Producers of one router re-produced in another router through a pair of PipeTransports over loopback.
 * mediasoup's own `router.pipeToRouter()` cannot do this between two routers of the same worker in 3.12:
 * it gives the piped producer the original's id, which the worker then refuses as a duplicate. Here the
 * piped producers get ids of their own.
 *
 * Ownership: the pipe lives as long as both routers; either PipeTransport closing closes the other, and
 * each piped producer closes with its original (and the reverse).
 */
import type { types } from 'mediasoup';

export class RouterPipe {
  readonly #local: types.PipeTransport;
  readonly #remote: types.PipeTransport;

  private constructor(local: types.PipeTransport, remote: types.PipeTransport) {
    this.#local = local;
    this.#remote = remote;
    local.observer.once('close', () => remote.close());
    remote.observer.once('close', () => local.close());
  }

  /** A connected pipe from `from` to `to`. */
  static async open(from: types.Router, to: types.Router): Promise<RouterPipe> {
    const options = { listenIp: '127.0.0.1', enableSctp: false, enableRtx: false, enableSrtp: false };
    const local = await from.createPipeTransport(options);
    let remote: types.PipeTransport | undefined;
    try {
      remote = await to.createPipeTransport(options);
      await local.connect({ ip: remote.tuple.localIp, port: remote.tuple.localPort });
      await remote.connect({ ip: local.tuple.localIp, port: local.tuple.localPort });
      return new RouterPipe(local, remote);
    } catch (err) {
      local.close();
      remote?.close();
      throw err;
    }
  }

  /** Sends producer `producerId` of the first router through the pipe; returns its twin in the second. */
  async pipe(producerId: string, appData: types.AppData = {}): Promise<types.Producer> {
    const pipeConsumer = await this.#local.consume({ producerId });
    let pipeProducer: types.Producer;
    try {
      pipeProducer = await this.#remote.produce({
        kind: pipeConsumer.kind,
        rtpParameters: pipeConsumer.rtpParameters,
        paused: pipeConsumer.producerPaused,
        appData,
      });
    } catch (err) {
      pipeConsumer.close();
      throw err;
    }
    pipeConsumer.observer.once('close', () => pipeProducer.close());
    pipeProducer.observer.once('close', () => pipeConsumer.close());
    pipeConsumer.observer.on('pause', () => void pipeProducer.pause().catch(() => undefined));
    pipeConsumer.observer.on('resume', () => void pipeProducer.resume().catch(() => undefined));
    return pipeProducer;
  }

  close(): void {
    this.#local.close();
  }
}
