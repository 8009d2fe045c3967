import { describe, expect, it } from 'vitest';
import { ConfigError, describeConfig, loadConfig } from '../../server/config/config.js';

describe('loadConfig', () => {
  it('uses the documented defaults', () => {
    const c = loadConfig({});
    expect(c.port).toBe(8080);
    expect(c.rtcPort).toBe(40000);
    expect(c.announcedIp).toBe('127.0.0.1');
    expect(c.dataDir).toMatch(/\/data$/);
    expect(c.workers).toBeGreaterThanOrEqual(1);
    expect(c.embedOrigins).toEqual(['*']);
    expect(c.jwtSecret).toBeUndefined();
    expect(c.maxSocketsPerAddress).toBe(200);
  });

  it('reads and converts every variable', () => {
    const c = loadConfig({
      PORT: '9000',
      ONAIR_WORKERS: '3',
      ONAIR_RTC_PORT: '41000',
      ONAIR_PUBLIC_URL: 'https://live.example.com/',
      ONAIR_EMBED_ORIGINS: 'https://a.example, https://b.example',
      ONAIR_JWT_SECRET: 'x'.repeat(40),
      ONAIR_MAX_SOCKETS_PER_ADDRESS: '1000',
    });
    expect(c).toMatchObject({ port: 9000, workers: 3, rtcPort: 41000, publicUrl: 'https://live.example.com', maxSocketsPerAddress: 1000 });
    expect(c.embedOrigins).toEqual(['https://a.example', 'https://b.example']);
  });

  it('reads the LL-HLS part length in ms (default 200) and refuses one outside 100-1000', () => {
    expect(loadConfig({}).hls.partSeconds).toBe(0.2);
    expect(loadConfig({ ONAIR_HLS_PART_MS: '100' }).hls.partSeconds).toBe(0.1);
    expect(() => loadConfig({ ONAIR_HLS_PART_MS: '50' })).toThrow(/ONAIR_HLS_PART_MS/);
    expect(() => loadConfig({ ONAIR_HLS_PART_MS: '1500' })).toThrow(/ONAIR_HLS_PART_MS/);
  });

  it('treats empty values as unset', () => {
    expect(loadConfig({ PORT: '', ONAIR_ADMIN_PASSWORD: '' }).port).toBe(8080);
  });

  it('lists every bad variable in one error', () => {
    let err: unknown;
    try {
      loadConfig({ PORT: 'eighty', ONAIR_ANNOUNCED_IP: 'not-an-ip', ONAIR_WORKERS: '0', ONAIR_JWT_SECRET: 'short', ONAIR_MAX_SOCKETS_PER_ADDRESS: '0' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const msg = (err as Error).message;
    for (const name of ['PORT', 'ONAIR_ANNOUNCED_IP', 'ONAIR_WORKERS', 'ONAIR_JWT_SECRET', 'ONAIR_MAX_SOCKETS_PER_ADDRESS']) expect(msg).toContain(name);
  });

  it('reads ONAIR_TRUSTED_PROXIES as addresses and subnets, none by default, and refuses anything else', () => {
    expect(loadConfig({}).trustedProxies).toEqual([]);
    expect(loadConfig({ ONAIR_TRUSTED_PROXIES: '172.18.0.0/16, 10.0.0.5 fd00::/8' }).trustedProxies).toEqual(['172.18.0.0/16', '10.0.0.5', 'fd00::/8']);
    expect(() => loadConfig({ ONAIR_TRUSTED_PROXIES: 'nginx' })).toThrow(/ONAIR_TRUSTED_PROXIES/);
    expect(() => loadConfig({ ONAIR_TRUSTED_PROXIES: '10.0.0.0/40' })).toThrow(/ONAIR_TRUSTED_PROXIES/);
  });

  it('refuses a port range that runs past 65535', () => {
    expect(() => loadConfig({ ONAIR_RTC_PORT: '65535', ONAIR_WORKERS: '2' })).toThrow(/ONAIR_RTC_PORT/);
  });

  it('masks secrets when described', () => {
    const d = describeConfig(loadConfig({ ONAIR_JWT_SECRET: 's'.repeat(40), ONAIR_ADMIN_PASSWORD: 'hunter2hunter2' }));
    expect(d.jwtSecret).toBe('<redacted>');
    expect(d.adminPassword).toBe('<redacted>');
    expect(JSON.stringify(d)).not.toContain('hunter2');
  });

  it('reads ONAIR_DATABASE_URL (PostgreSQL only), never echoing or logging its password', () => {
    expect(loadConfig({}).databaseUrl).toBeUndefined();
    expect(loadConfig({ ONAIR_DATABASE_URL: '' }).databaseUrl).toBeUndefined();
    const url = 'postgres://onair:s3cret-pw@db.internal:5432/onair';
    const config = loadConfig({ ONAIR_DATABASE_URL: url });
    expect(config.databaseUrl).toBe(url);
    expect(loadConfig({ ONAIR_DATABASE_URL: 'postgresql://db.internal/onair' }).databaseUrl).toBe('postgresql://db.internal/onair');
    const described = describeConfig(config);
    expect(described.databaseUrl).toBe('postgres://onair:<redacted>@db.internal:5432/onair');
    expect(JSON.stringify(described)).not.toContain('s3cret-pw');
    for (const bad of ['mysql://root:hunter2@127.0.0.1/onair', 'db.internal:5432', 'sqlite:///tmp/x.db']) {
      const err = (() => {
        try {
          loadConfig({ ONAIR_DATABASE_URL: bad });
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(ConfigError);
      expect(String(err)).toMatch(/ONAIR_DATABASE_URL must be a URL such as postgres:\/\//);
      expect(String(err)).not.toContain('hunter2');
    }
  });
});
