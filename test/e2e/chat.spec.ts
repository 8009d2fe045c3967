/**
 * Live chat end to end, in Chromium against the real server: the owner (signed in) and two viewers (one
 * anonymous, one signed in to an account of their own) chat on /watch/:id while the studio broadcasts; the
 * owner uses every moderation action from the page (delete, slow mode, word filter, chat off, time out,
 * ban) and each viewer sees its effect; names cannot be taken; text stays text; the embed shows the chat
 * with `?chat=1`; after the broadcast, /video/:id replays the chat in step with the recording.
 */
import { expect, test, type Page } from '@playwright/test';
import type { LoginResponse, Recording, RecordingList } from '../../shared/api.js';
import type { ChatHistory } from '../../shared/chat.js';
import { replayMoment } from '../../client/chat/replayClock.js';
import { closeBrowsers, launchBrowser } from './helpers/browser.js';
import { BASE_URL, createStream, getJson, goLive, login, MEDIA_TIMEOUT, openStudio } from './helpers/onair.js';

test.afterEach(async () => {
  await closeBrowsers();
});

async function signIn(username: string, password: string): Promise<LoginResponse> {
  const res = await fetch(`${BASE_URL}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
  if (!res.ok) throw new Error(`login ${username}: ${res.status}`);
  return (await res.json()) as LoginResponse;
}

/** A tab of `context` on the watch page, signed in as `session` (the studio's tab session) when given. */
async function watchTab(context: Awaited<ReturnType<typeof launchBrowser>>, path: string, session?: LoginResponse): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (err) => console.log(`[${path}] page error: ${err.message}`));
  if (session) await page.addInitScript((s) => sessionStorage.setItem('onair.session', JSON.stringify(s)), session);
  await page.goto(path);
  await expect(page.getByTestId('chat')).toBeVisible();
  return page;
}

const messages = (page: Page) => page.getByTestId('chat-message');
const message = (page: Page, text: string) => messages(page).filter({ hasText: text });

async function say(page: Page, text: string): Promise<void> {
  await page.getByTestId('chat-input').fill(text);
  await page.getByTestId('chat-input').press('Enter');
}

/** Sends, and expects the chat to refuse with a notice matching `why`. */
async function refused(page: Page, text: string, why: RegExp): Promise<void> {
  await say(page, text);
  await expect(page.getByTestId('chat-notice')).toHaveText(why);
  await expect(message(page, text)).toHaveCount(0);
}

test('two viewers and the owner chat; each moderation action works; the recording replays the chat', async () => {
  test.setTimeout(360_000);
  const admin = await login();
  const stream = await createStream(admin, { title: 'Chat e2e', tags: ['e2e-chat'] });
  const created = await fetch(`${BASE_URL}/api/users`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` },
    body: JSON.stringify({ username: 'benchat', password: 'benchat-password', role: 'broadcaster' }),
  });
  expect(created.status).toBe(201);
  const ownerSession = await signIn('admin', 'admin-password-1');
  const benSession = await signIn('benchat', 'benchat-password');

  const studio = await openStudio(stream.id);
  await goLive(studio);
  const owner = await watchTab(studio.context(), `/watch/${stream.id}`, ownerSession);
  const viewers = await launchBrowser(BASE_URL);
  const ann = await watchTab(viewers, `/watch/${stream.id}`);
  const ben = await watchTab(viewers, `/watch/${stream.id}`, benSession);

  await test.step('an anonymous viewer picks a name; the owner\'s is taken', async () => {
    await expect(ann.getByTestId('chat-input')).toBeHidden();
    await ann.getByTestId('chat-name-input').fill('Admin');
    await ann.getByRole('button', { name: 'Chat', exact: true }).click();
    await expect(ann.getByTestId('chat-notice')).toHaveText(/taken|reserved/);
    await ann.getByTestId('chat-name-input').fill('Ann');
    await ann.getByRole('button', { name: 'Chat', exact: true }).click();
    await expect(ann.getByTestId('chat-input')).toBeVisible();
    // Signed in: no name to pick, the account's is used.
    await expect(ben.getByTestId('chat-input')).toBeVisible();
    await expect(ben.getByTestId('chat-name-input')).toBeHidden();
    await expect(owner.getByTestId('chat-moderation')).toBeVisible();
    await expect(ann.getByTestId('chat-moderation')).toBeHidden();
  });

  const hostile = 'hello <b>bold</b> <img src=x onerror=alert(1)> https://example.com/page';
  await test.step('messages reach everyone once, as text; the owner is marked', async () => {
    await say(ann, hostile);
    await say(ben, 'hi from Ben');
    await say(owner, 'welcome, both of you');
    for (const page of [owner, ann, ben]) {
      await expect(messages(page)).toHaveCount(3);
      await expect(message(page, 'hello').getByTestId('chat-text')).toHaveText(hostile);
      await expect(message(page, 'hello').locator('b, img, a')).toHaveCount(0);
      await expect(message(page, 'welcome').getByTestId('chat-badge')).toHaveText('Owner');
      await expect(message(page, 'welcome').getByTestId('chat-name')).toHaveText('admin');
      await expect(message(page, 'hi from Ben').getByTestId('chat-name')).toHaveText('benchat');
    }
  });

  await test.step('the embed shows the chat with ?chat=1 only', async () => {
    const embed = await viewers.newPage();
    await embed.goto(`/embed/${stream.id}?chat=1`);
    await expect(messages(embed)).toHaveCount(3);
    await embed.goto(`/embed/${stream.id}`);
    await expect(embed.locator('#chat')).toBeHidden();
    await embed.close();
  });

  await test.step('delete: the message is gone for everyone', async () => {
    await say(ann, 'a message to delete');
    await expect(message(owner, 'a message to delete')).toHaveCount(1);
    await message(owner, 'a message to delete').getByRole('button', { name: /^Delete/ }).click();
    for (const page of [owner, ann, ben]) await expect(message(page, 'a message to delete')).toHaveCount(0);
    await expect(message(ann, 'hello')).toHaveCount(1);
  });

  await test.step('slow mode', async () => {
    await owner.getByTestId('chat-moderation').locator('summary').click();
    await owner.getByTestId('chat-slow-mode').selectOption('30');
    await expect(ben.getByTestId('chat-state')).toHaveText(/Slow mode/);
    await say(ben, 'slow first');
    await expect(message(ann, 'slow first')).toHaveCount(1);
    await refused(ben, 'slow second', /slow mode/i);
    await owner.getByTestId('chat-slow-mode').selectOption('0');
    await expect(ben.getByTestId('chat-state')).toHaveText('');
  });

  await test.step('word filter', async () => {
    await owner.getByTestId('chat-filter').fill('darn, buy now');
    await owner.getByRole('button', { name: 'Save words' }).click();
    await expect(owner.getByTestId('chat-filter')).toHaveValue('darn, buy now');
    await refused(ben, 'oh DARN', /does not allow/);
    await owner.getByTestId('chat-filter').fill('');
    await owner.getByRole('button', { name: 'Save words' }).click();
    await say(ben, 'darn is fine now');
    await expect(message(ann, 'darn is fine now')).toHaveCount(1);
  });

  await test.step('chat off and on', async () => {
    await owner.getByTestId('chat-enabled').uncheck();
    await expect(ann.getByTestId('chat-state')).toHaveText('Chat is off');
    await refused(ann, 'anyone here?', /chat is off/);
    await say(owner, 'the owner may still talk');
    await expect(message(ann, 'the owner may still talk')).toHaveCount(1);
    await owner.getByTestId('chat-enabled').check();
    await expect(ann.getByTestId('chat-state')).toHaveText('');
  });

  await test.step('time out a signed-in viewer (by account)', async () => {
    await message(owner, 'hi from Ben').getByRole('button', { name: /^Time out/ }).click();
    await expect(ben.getByTestId('chat-notice')).toHaveText(/timed out until/);
    await refused(ben, 'am I muted?', /timed out/);
    // Ann (anonymous, same address) is not held by Ben's timeout.
    await say(ann, 'Ann still talks');
    await expect(message(owner, 'Ann still talks')).toHaveCount(1);
  });

  await test.step('ban an anonymous viewer (by session and address)', async () => {
    await message(owner, 'Ann still talks').getByRole('button', { name: /^Ban/ }).click();
    await expect(ann.getByTestId('chat-notice')).toHaveText(/banned/);
    await refused(ann, 'let me back', /banned/);
    await ann.reload();
    await expect(ann.getByTestId('chat-input')).toBeVisible();
    await refused(ann, 'after a reload', /banned/);
  });

  const sentAt = new Map<string, number>();
  await test.step('the broadcast ends; its recording is ready', async () => {
    const history = await getJson<ChatHistory>(`/api/streams/${stream.id}/chat?limit=200`);
    for (const m of history.messages) sentAt.set(m.text, Date.parse(m.at));
    expect([...sentAt.keys()]).not.toContain('a message to delete');
    await studio.getByRole('button', { name: 'End broadcast' }).click();
    await expect(studio.getByTestId('studio-state')).toHaveAttribute('data-state', 'ended');
  });

  let recording!: Recording;
  await expect
    .poll(
      async () => {
        recording = (await getJson<RecordingList>(`/api/recordings?streamId=${stream.id}`)).recordings[0]!;
        return recording?.status;
      },
      { timeout: MEDIA_TIMEOUT },
    )
    .toBe('ready');

  await test.step('/video/:id replays the chat in step with the recording', async () => {
    const vod = await viewers.newPage();
    await vod.goto(`/video/${recording.id}`);
    const replay = vod.getByTestId('chat-replay');
    await expect(replay).toBeVisible();
    const video = vod.getByTestId('vod-video');
    await expect.poll(() => video.evaluate((v: HTMLVideoElement) => v.readyState), { timeout: MEDIA_TIMEOUT }).toBeGreaterThanOrEqual(1);
    // The video position at which a message was sent (the replay's own clock: start + lead-in + position).
    const zero = replayMoment(recording, 0);
    const offset = (text: string) => (sentAt.get(text)! - zero) / 1000;
    /**
     * Seeks, then expects exactly the messages sent up to the moment the video shows, in order. The position is
     * read as the replay reads it (currentTime moves at once on a seek, whether or not the media there has
     * loaded; hls.js may nudge it later, so the check is repeated until both agree).
     */
    const expectInStepAt = async (target: number) => {
      await video.evaluate((v: HTMLVideoElement, to: number) => (v.currentTime = to), target);
      let shown: string[] = [];
      await expect
        .poll(
          async () => {
            const position = await video.evaluate((v: HTMLVideoElement) => v.currentTime);
            const upTo = replayMoment(recording, position);
            const expected = [...sentAt].filter(([, at]) => at <= upTo).map(([text]) => text);
            shown = await messages(vod).getByTestId('chat-text').allTextContents();
            return JSON.stringify(shown) === JSON.stringify(expected) ? 'in step' : `at ${position} s: ${shown.length} shown, ${expected.length} sent by then`;
          },
          { timeout: MEDIA_TIMEOUT },
        )
        .toBe('in step');
      return shown;
    };
    // The end: every message kept, none deleted, in order, as text, the owner's marked.
    expect(await expectInStepAt(offset('Ann still talks') + 0.5)).toEqual([...sentAt.keys()]);
    await expect(message(vod, 'hello').getByTestId('chat-text')).toHaveText(hostile);
    await expect(message(vod, 'welcome').getByTestId('chat-badge')).toHaveText('Owner');
    // Back to the start: the chat began after the video did, so fewer (seeking back hides later messages).
    const atStart = await expectInStepAt(0);
    expect(atStart.length).toBeLessThan(sentAt.size);
    // Between the first and the last message: exactly those sent up to the moment the video shows.
    await expectInStepAt((offset('hi from Ben') + offset('Ann still talks')) / 2);
  });
});
