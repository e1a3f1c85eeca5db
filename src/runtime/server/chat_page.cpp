// The page talks to /v1/chat/completions with stream: true and reads the
// Server-Sent Events itself (fetch + a stream reader), so the stop button is
// an AbortController: the server notices the closed connection and frees the slot.
#include "runtime/server/chat_page.h"

namespace forge::server {

namespace {
constexpr std::string_view kPage = R"HTML(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Forge chat</title>
<style>
  :root { --bg: #f6f5f2; --panel: #fff; --ink: #1f2328; --muted: #6a6f76; --line: #dedbd5;
          --accent: #2f6f5e; --user: #e7efe9; --bot: #fff; }
  @media (prefers-color-scheme: dark) {
    :root { --bg: #17191c; --panel: #1f2226; --ink: #e6e6e3; --muted: #9aa0a6; --line: #33373d;
            --accent: #5fb39a; --user: #23342e; --bot: #1f2226; }
  }
  * { box-sizing: border-box; }
  body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; background: var(--bg);
         color: var(--ink); display: flex; flex-direction: column; height: 100vh; }
  header { display: flex; align-items: baseline; gap: 12px; padding: 10px 18px; border-bottom: 1px solid var(--line); }
  header h1 { font-size: 17px; margin: 0; letter-spacing: .02em; }
  header .model { color: var(--muted); font-size: 13px; }
  header .speed { margin-left: auto; color: var(--muted); font-variant-numeric: tabular-nums; font-size: 13px; }
  main { flex: 1; display: flex; min-height: 0; }
  aside { width: 260px; padding: 14px 18px; border-right: 1px solid var(--line); display: flex;
          flex-direction: column; gap: 12px; overflow-y: auto; }
  aside label { font-size: 12px; color: var(--muted); display: block; margin-bottom: 4px; text-transform: uppercase;
                letter-spacing: .05em; }
  aside textarea, aside input[type=number], aside input[type=password] { width: 100%; padding: 6px 8px;
          border: 1px solid var(--line); border-radius: 6px; background: var(--panel); color: var(--ink); font: inherit; }
  aside textarea { height: 110px; resize: vertical; }
  .row { display: flex; gap: 8px; align-items: center; }
  .row input[type=range] { flex: 1; accent-color: var(--accent); }
  .row output { width: 34px; text-align: right; font-variant-numeric: tabular-nums; }
  #chat { flex: 1; display: flex; flex-direction: column; min-width: 0; }
  #messages { flex: 1; overflow-y: auto; padding: 18px; display: flex; flex-direction: column; gap: 10px; }
  .msg { max-width: 760px; padding: 9px 13px; border-radius: 10px; border: 1px solid var(--line);
         white-space: pre-wrap; word-wrap: break-word; }
  .msg.user { align-self: flex-end; background: var(--user); }
  .msg.assistant { align-self: flex-start; background: var(--bot); }
  .msg.error { align-self: center; color: #b3261e; border-color: #b3261e; font-size: 13px; }
  .msg.assistant.streaming::after { content: "\258D"; color: var(--accent); }
  .empty { color: var(--muted); margin: auto; text-align: center; }
  form { display: flex; gap: 8px; padding: 12px 18px; border-top: 1px solid var(--line); }
  form textarea { flex: 1; resize: none; height: 46px; padding: 10px; border-radius: 8px; border: 1px solid var(--line);
                  background: var(--panel); color: var(--ink); font: inherit; }
  button { border: 0; border-radius: 8px; padding: 0 18px; font: inherit; cursor: pointer; }
  #send { background: var(--accent); color: #fff; }
  #stop { background: #b3261e; color: #fff; }
  button:disabled { opacity: .45; cursor: default; }
  .small { font-size: 12px; color: var(--muted); }
  a.link { color: var(--accent); cursor: pointer; font-size: 12px; }
  @media (max-width: 700px) { aside { display: none; } }
</style>
</head>
<body>
<header><h1>Forge</h1><span class="model" id="model"></span><span class="speed" id="speed"></span></header>
<main>
  <aside>
    <div><label for="system">System prompt</label><textarea id="system" placeholder="You are a helpful assistant."></textarea></div>
    <div><label for="temperature">Temperature</label>
      <div class="row"><input type="range" id="temperature" min="0" max="2" step="0.05" value="0.8"><output id="temperature-value">0.8</output></div></div>
    <div><label for="max-tokens">Max tokens</label><input type="number" id="max-tokens" min="1" value="256"></div>
    <div><label for="api-key">API key (if the server wants one)</label><input type="password" id="api-key" autocomplete="off"></div>
    <a class="link" id="clear">Clear the conversation</a>
    <div class="small">Replies stream as they are generated. Stop ends the request; the server frees its slot at once.</div>
  </aside>
  <section id="chat">
    <div id="messages"><div class="empty" id="empty">Say something to start.</div></div>
    <form id="form">
      <textarea id="input" placeholder="Message (Enter sends, Shift+Enter for a new line)"></textarea>
      <button type="submit" id="send">Send</button>
      <button type="button" id="stop" disabled>Stop</button>
    </form>
  </section>
</main>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
const history = [];
let controller = null;

function headers() {
  const h = { "Content-Type": "application/json" };
  const key = $("api-key").value.trim();
  if (key) h["Authorization"] = "Bearer " + key;
  return h;
}

function add(role, text) {
  $("empty")?.remove();
  const div = document.createElement("div");
  div.className = "msg " + role;
  div.textContent = text;
  $("messages").appendChild(div);
  $("messages").scrollTop = $("messages").scrollHeight;
  return div;
}

function busy(on) {
  $("send").disabled = on;
  $("stop").disabled = !on;
}

async function send(text) {
  const messages = [];
  const system = $("system").value.trim();
  if (system) messages.push({ role: "system", content: system });
  history.push({ role: "user", content: text });
  messages.push(...history);
  add("user", text);
  const out = add("assistant", "");
  out.classList.add("streaming");
  busy(true);
  controller = new AbortController();
  const started = performance.now();
  let first = 0, tokens = 0, reply = "";
  const showSpeed = () => {
    if (tokens > 1 && first) {
      const s = (performance.now() - first) / 1000;
      $("speed").textContent = tokens + " tokens, " + (s > 0 ? ((tokens - 1) / s).toFixed(1) : "-") + " tokens/s";
    }
  };
  try {
    const res = await fetch("/v1/chat/completions", {
      method: "POST", headers: headers(), signal: controller.signal,
      body: JSON.stringify({ messages, stream: true, stream_options: { include_usage: true },
                             temperature: Number($("temperature").value),
                             max_tokens: Math.max(1, Number($("max-tokens").value) || 256) }) });
    if (!res.ok) {
      let msg = res.status + " " + res.statusText;
      try { msg = (await res.json()).error.message; } catch (e) {}
      throw new Error(msg);
    }
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buf = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buf.indexOf("\n\n")) >= 0) {
        const event = buf.slice(0, cut);
        buf = buf.slice(cut + 2);
        for (const line of event.split("\n")) {
          if (!line.startsWith("data: ")) continue;
          const data = line.slice(6);
          if (data === "[DONE]") continue;
          const chunk = JSON.parse(data);
          if (chunk.error) throw new Error(chunk.error.message);
          if (chunk.usage) tokens = chunk.usage.completion_tokens;
          for (const c of chunk.choices || []) {
            const piece = c.delta && c.delta.content;
            if (piece) {
              if (!first) first = performance.now();
              tokens += 1;
              reply += piece;
              out.textContent = reply;
              $("messages").scrollTop = $("messages").scrollHeight;
            }
          }
          showSpeed();
        }
      }
    }
  } catch (e) {
    if (e.name !== "AbortError") add("error", String(e.message || e));
  } finally {
    out.classList.remove("streaming");
    if (reply) history.push({ role: "assistant", content: reply }); else history.pop();
    if (!first) $("speed").textContent = ((performance.now() - started) / 1000).toFixed(2) + " s";
    controller = null;
    busy(false);
    $("input").focus();
  }
}

$("form").addEventListener("submit", (e) => {
  e.preventDefault();
  const text = $("input").value.trim();
  if (!text || controller) return;
  $("input").value = "";
  send(text);
});
$("input").addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); $("form").requestSubmit(); }
});
$("stop").addEventListener("click", () => { if (controller) controller.abort(); });
$("temperature").addEventListener("input", () => { $("temperature-value").textContent = $("temperature").value; });
$("clear").addEventListener("click", () => {
  history.length = 0;
  $("messages").innerHTML = '<div class="empty" id="empty">Say something to start.</div>';
  $("speed").textContent = "";
});
fetch("/v1/models", { headers: headers() }).then((r) => r.json())
  .then((j) => { $("model").textContent = j.data[0].id + " \u00b7 context " + j.data[0].meta.n_ctx; })
  .catch(() => {});
</script>
</body>
</html>
)HTML";
}  // namespace

std::string_view chat_page_html() {
  return kPage;
}

}  // namespace forge::server
