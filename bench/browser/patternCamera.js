// Init script for the broadcaster's page in benchmarks: getUserMedia's camera becomes a canvas that draws, at
// exactly 30 fps, a timestamp pattern (8x6 blocks: 40-bit Date.now() + 8-bit checksum; the method proven in
// shared/media-path-spike). Microphone requests keep Chromium's fake device.
(() => {
  const COLS = 8, ROWS = 6;
  const toBits = (ts) => {
    let v = ts % 2 ** 40; const bytes = [];
    for (let i = 0; i < 5; i++) { bytes.push(v % 256); v = Math.floor(v / 256); }
    bytes.push(bytes.reduce((a, b) => a + b, 0) % 256);
    const bits = [];
    for (const b of bytes) for (let i = 7; i >= 0; i--) bits.push((b >> i) & 1);
    return bits;
  };
  const draw = (ctx, w, h, ts, n) => {
    ctx.fillStyle = '#808080'; ctx.fillRect(0, 0, w, h);
    const gh = h * 0.75, bw = w / COLS, bh = gh / ROWS, bits = toBits(ts);
    for (let r = 0; r < ROWS; r++) for (let c = 0; c < COLS; c++) {
      ctx.fillStyle = bits[r * COLS + c] ? '#fff' : '#000'; ctx.fillRect(c * bw, r * bh, bw, bh);
    }
    ctx.fillStyle = '#0af'; ctx.fillRect((n * 7) % w, gh, w / 20, h - gh);
  };
  const original = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = async (constraints) => {
    if (!constraints || !constraints.video) return original(constraints);
    const h = Number(window.__benchHeight || 720), w = Math.round((h * 16) / 9 / 2) * 2;
    const canvas = document.createElement('canvas'); canvas.width = w; canvas.height = h;
    const ctx = canvas.getContext('2d');
    const stream = canvas.captureStream(0);
    const track = stream.getVideoTracks()[0];
    let n = 0;
    const tick = () => { draw(ctx, w, h, Date.now(), n++); track.requestFrame(); };
    tick();
    setInterval(tick, 1000 / 30);
    if (constraints.audio) for (const t of (await original({ audio: true })).getAudioTracks()) stream.addTrack(t);
    return stream;
  };
})();
