import { describe, expect, it } from 'vitest';
import { ClusterSettingsError, deriveNodeId, describeClusterSettings, parseClusterSettings } from '../../server/cluster/ClusterSettings.js';

const SECRET = 's'.repeat(32);
const base = { ONAIR_REDIS_URL: 'redis://10.0.0.5:6379', ONAIR_CLUSTER_SECRET: SECRET, ONAIR_NODE_URL: 'http://10.0.0.11:8080' };

const problems = (env: Record<string, string>): string => {
  try {
    parseClusterSettings(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ClusterSettingsError);
    return (err as Error).message;
  }
  throw new Error('accepted');
};

describe('parseClusterSettings', () => {
  it('is undefined without ONAIR_REDIS_URL (one machine), also when it is empty', () => {
    expect(parseClusterSettings({})).toBeUndefined();
    expect(parseClusterSettings({ ONAIR_REDIS_URL: '', ONAIR_CLUSTER_SECRET: 'short' })).toBeUndefined();
  });

  it('parses a node with defaults: pipe address from the node URL, the default port range, a derived id', () => {
    expect(parseClusterSettings(base)).toEqual({
      redisUrl: 'redis://10.0.0.5:6379',
      secret: SECRET,
      nodeUrl: 'http://10.0.0.11:8080',
      nodeId: deriveNodeId('http://10.0.0.11:8080'),
      pipe: { listenIp: '0.0.0.0', announcedIp: '10.0.0.11', portMin: 32000, portMax: 32999 },
    });
  });

  it('derives the same node id from the same URL (stable across restarts), another from another', () => {
    expect(deriveNodeId('http://10.0.0.11:8080')).toMatch(/^node-[0-9a-f]{12}$/);
    expect(deriveNodeId('http://10.0.0.11:8080')).toBe(deriveNodeId('http://10.0.0.11:8080'));
    expect(deriveNodeId('http://10.0.0.12:8080')).not.toBe(deriveNodeId('http://10.0.0.11:8080'));
    // A trailing slash is the same node.
    expect(parseClusterSettings({ ...base, ONAIR_NODE_URL: 'http://10.0.0.11:8080/' })!.nodeId).toBe(deriveNodeId('http://10.0.0.11:8080'));
  });

  it('takes every setting when given', () => {
    const s = parseClusterSettings({
      ...base,
      ONAIR_REDIS_URL: 'rediss://:pw@redis.internal:6380/2',
      ONAIR_NODE_URL: 'https://node3.internal:8443',
      ONAIR_NODE_ID: 'edge-3',
      ONAIR_PIPE_LISTEN_IP: '10.0.0.13',
      ONAIR_PIPE_ANNOUNCED_IP: '10.0.0.13',
      ONAIR_PIPE_PORT_MIN: '45000',
      ONAIR_PIPE_PORT_MAX: '45099',
    });
    expect(s).toMatchObject({ nodeId: 'edge-3', nodeUrl: 'https://node3.internal:8443', pipe: { listenIp: '10.0.0.13', announcedIp: '10.0.0.13', portMin: 45000, portMax: 45099 } });
  });

  it('reads an IPv6 node URL as the pipe address', () => {
    expect(parseClusterSettings({ ...base, ONAIR_NODE_URL: 'http://[fd00::11]:8080' })!.pipe.announcedIp).toBe('fd00::11');
  });

  it.each([
    [{ ONAIR_CLUSTER_SECRET: undefined }, 'ONAIR_CLUSTER_SECRET: ONAIR_CLUSTER_SECRET is required'],
    [{ ONAIR_CLUSTER_SECRET: 'x'.repeat(31) }, 'ONAIR_CLUSTER_SECRET must be at least 32 characters'],
    [{ ONAIR_REDIS_URL: 'http://10.0.0.5:6379' }, 'ONAIR_REDIS_URL must start with redis://'],
    [{ ONAIR_REDIS_URL: 'not a url' }, 'ONAIR_REDIS_URL must be a URL'],
    [{ ONAIR_NODE_URL: undefined }, 'ONAIR_NODE_URL is required'],
    [{ ONAIR_NODE_URL: 'ftp://10.0.0.11' }, 'ONAIR_NODE_URL must be http(s)'],
    [{ ONAIR_NODE_URL: 'http://10.0.0.11:8080/onair' }, 'no path, query or credentials'],
    [{ ONAIR_NODE_URL: 'http://u:p@10.0.0.11:8080' }, 'no path, query or credentials'],
    [{ ONAIR_NODE_URL: 'http://node3.internal:8080' }, 'ONAIR_PIPE_ANNOUNCED_IP: required when ONAIR_NODE_URL names a host'],
    [{ ONAIR_NODE_ID: 'has space' }, 'ONAIR_NODE_ID: letters, digits and dashes'],
    [{ ONAIR_NODE_ID: 'a'.repeat(64) }, 'ONAIR_NODE_ID: letters, digits and dashes'],
    [{ ONAIR_PIPE_LISTEN_IP: 'localhost' }, 'ONAIR_PIPE_LISTEN_IP must be an IPv4 or IPv6 address'],
    [{ ONAIR_PIPE_PORT_MIN: 'abc' }, 'ONAIR_PIPE_PORT_MIN must be a number'],
    [{ ONAIR_PIPE_PORT_MIN: '80' }, 'ONAIR_PIPE_PORT_MIN must be 1024-65535'],
    [{ ONAIR_PIPE_PORT_MAX: '70000' }, 'ONAIR_PIPE_PORT_MAX must be 1024-65535'],
    [{ ONAIR_PIPE_PORT_MIN: '40001', ONAIR_PIPE_PORT_MAX: '40000' }, 'ONAIR_PIPE_PORT_MAX: must not be below ONAIR_PIPE_PORT_MIN'],
  ] as [Record<string, string | undefined>, string][])('refuses %o', (change, message) => {
    const env = Object.fromEntries(Object.entries({ ...base, ...change }).filter(([, v]) => v !== undefined)) as Record<string, string>;
    expect(problems(env)).toContain(message);
  });

  it('lists every bad variable at once', () => {
    const message = problems({ ONAIR_REDIS_URL: 'redis://r', ONAIR_CLUSTER_SECRET: 'short', ONAIR_NODE_URL: 'nope' });
    expect(message).toContain('ONAIR_CLUSTER_SECRET');
    expect(message).toContain('ONAIR_NODE_URL');
  });

  it('masks the secret and the Redis password when described for the log', () => {
    const d = describeClusterSettings(parseClusterSettings({ ...base, ONAIR_REDIS_URL: 'redis://:hunter2@10.0.0.5:6379' })!);
    expect(JSON.stringify(d)).not.toContain(SECRET);
    expect(JSON.stringify(d)).not.toContain('hunter2');
    expect(d.secret).toBe('<redacted>');
  });
});
