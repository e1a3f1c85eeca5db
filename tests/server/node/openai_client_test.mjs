// The official OpenAI Node client (openai@6) against `forge serve` with
// stories260K: a chat completion, a streamed chat completion, a completion
// (greedy, checked against llama.cpp's reference text), the model list, and
// a wrong API key. Usage: node openai_client_test.mjs FORGE_BIN DATA_DIR
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { need, startServer, fail } from './serve.mjs';

const [forge, data] = process.argv.slice(2);
if (!forge || !data) fail('usage: node openai_client_test.mjs FORGE_BIN DATA_DIR');
const { default: OpenAI } = await need('openai');
const modelPath = `${data}/models/stories260K/stories260K.gguf`;
const reference = JSON.parse(readFileSync(`${data}/models/stories260K/reference-greedy.json`, 'utf8'));

const key = 'node-test-key';
const server = await startServer(forge, ['-m', modelPath, '-t', '1', '--parallel', '2', '--api-key', key, '--alias', 'stories260K']);
let failed = false;
try {
  const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: key, maxRetries: 0, timeout: 30000 });

  const models = await client.models.list();
  assert.deepEqual(models.data.map((m) => m.id), ['stories260K']);

  const messages = [{ role: 'user', content: 'Tell me a story about a dog.' }];
  const chat = await client.chat.completions.create({ model: 'stories260K', messages, max_tokens: 24, temperature: 0 });
  assert.equal(chat.object, 'chat.completion');
  assert.equal(chat.choices.length, 1);
  assert.equal(chat.choices[0].message.role, 'assistant');
  assert.equal(typeof chat.choices[0].message.content, 'string');
  assert.ok(chat.choices[0].message.content.length > 0);
  assert.ok(['stop', 'length'].includes(chat.choices[0].finish_reason));
  assert.equal(chat.usage.total_tokens, chat.usage.prompt_tokens + chat.usage.completion_tokens);

  const stream = await client.chat.completions.create({
    model: 'stories260K', messages, max_tokens: 24, temperature: 0, stream: true, stream_options: { include_usage: true },
  });
  let text = '';
  let finish = null;
  let usage = null;
  let chunks = 0;
  for await (const chunk of stream) {
    assert.equal(chunk.object, 'chat.completion.chunk');
    if (chunk.usage) usage = chunk.usage;
    for (const c of chunk.choices) {
      chunks += 1;
      text += c.delta.content ?? '';
      if (c.finish_reason) finish = c.finish_reason;
    }
  }
  assert.equal(text, chat.choices[0].message.content, 'streamed text equals the non-streamed greedy text');
  assert.equal(finish, chat.choices[0].finish_reason);
  assert.ok(chunks > 3, 'text arrives in several chunks');
  assert.deepEqual(usage.completion_tokens, chat.usage.completion_tokens);

  const ref = reference.cases[0];
  const completion = await client.completions.create({
    model: 'stories260K', prompt: ref.prompt, max_tokens: ref.generated_tokens.length, temperature: 0,
  });
  assert.equal(completion.object, 'text_completion');
  assert.equal(completion.choices[0].text, ref.generated_text, 'greedy completion equals llama.cpp reference');
  assert.equal(completion.usage.completion_tokens, ref.generated_tokens.length);

  const wrong = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'wrong', maxRetries: 0 });
  await assert.rejects(wrong.models.list(), (e) => e.status === 401 && /invalid API key/.test(e.message));
  const bad = client.completions.create({ model: 'stories260K', prompt: 'x', temperature: 7 });
  await assert.rejects(bad, (e) => e.status === 400 && /temperature/.test(e.message));
  console.log('openai client: chat, streamed chat, completion, models, errors: ok');
} catch (e) {
  failed = true;
  console.error(e);
  console.error(server.log());
} finally {
  const { code } = await server.stop();
  if (code !== 0) fail(`forge serve exited with ${code} on SIGTERM`);
}
process.exit(failed ? 1 : 0);
