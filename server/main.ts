/** `npm start`: read the configuration, start OnAir, stop gracefully on SIGTERM / SIGINT. */
import { ConfigError, describeConfig, loadConfig } from './config/config.js';
import { createLogger } from './log/logger.js';
import { startOnAir } from './app.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`OnAir: ${err.message}\nSee .env.example for every setting.\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);
  logger.info({ config: describeConfig(config) }, 'starting OnAir');
  const onair = await startOnAir(config, logger);
  logger.info({ url: onair.url }, `OnAir is serving on ${config.publicUrl ?? onair.url}`);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'stopping gracefully');
    const force = setTimeout(() => {
      logger.error('graceful stop took over 10 s: exiting');
      process.exit(1);
    }, 10_000);
    force.unref();
    onair.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled promise rejection'));
  // A bug that escaped every handler leaves state unknown: log it and exit, for the service manager to restart.
  process.on('uncaughtException', (err) => {
    logger.fatal({ err }, 'uncaught exception: exiting');
    process.exit(1);
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`OnAir failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
