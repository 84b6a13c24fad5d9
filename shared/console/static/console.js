// Shoal console: live streams and chat. No build step, no inline code (the CSP forbids it).
// Streams are read with fetch so that a reconnect can send Last-Event-ID itself and any event name
// is seen; a dropped connection resumes after the last event shown, so nothing is lost or repeated.
"use strict";
(function () {
  const TERMINAL = new Set(["task.finished", "task.deleted", "done", "complete", "cancelled", "session_ended"]);
  const controllers = new Set();
  const csrf = () => document.body.dataset.csrf || "";

  function parseFrames(buffer, onFrame) {
    const parts = buffer.split(/\r?\n\r?\n/);
    const rest = parts.pop();
    for (const part of parts) {
      const frame = { id: null, event: "message", data: [] };
      for (const line of part.split(/\r?\n/)) {
        if (!line || line.startsWith(":")) continue;
        const i = line.indexOf(":");
        const field = i < 0 ? line : line.slice(0, i);
        const value = i < 0 ? "" : line.slice(i + 1).replace(/^ /, "");
        if (field === "id") frame.id = value;
        else if (field === "event") frame.event = value;
        else if (field === "data") frame.data.push(value);
      }
      if (frame.data.length || frame.id !== null) {
        let data = frame.data.join("\n");
        try { data = JSON.parse(data); } catch (e) { /* plain text data */ }
        onFrame({ id: frame.id, event: frame.event, data: data });
      }
    }
    return rest;
  }

  // Read one SSE response; resolves with "ended" (terminal event), "closed" or "dropped".
  async function readStream(url, init, state, onEvent) {
    const controller = new AbortController();
    controllers.add(controller);
    const headers = Object.assign({ Accept: "text/event-stream" }, init.headers || {});
    if (state.lastId) headers["Last-Event-ID"] = state.lastId;
    try {
      const response = await fetch(url, Object.assign({}, init, { headers: headers, signal: controller.signal,
                                                                  credentials: "same-origin" }));
      if (response.status === 401) { window.location.assign("/console/sign-in"); return "ended"; }
      if (!response.ok) {
        const text = await response.text();
        onEvent({ event: "error", data: { message: text.trim() || ("HTTP " + response.status) } });
        return "ended";
      }
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      let ended = false;
      for (;;) {
        const chunk = await reader.read();
        if (chunk.done) break;
        buffer = parseFrames(buffer + decoder.decode(chunk.value, { stream: true }), function (frame) {
          if (frame.id !== null) {
            if (state.lastId !== null && Number(frame.id) <= Number(state.lastId)) return; // already shown
            state.lastId = frame.id;
          }
          onEvent(frame);
          if (TERMINAL.has(frame.event)) ended = true;
        });
      }
      return ended ? "ended" : "closed";
    } catch (e) {
      return "dropped";
    } finally {
      controllers.delete(controller);
    }
  }

  function setConn(root, text) {
    const el = root.querySelector("[data-conn]") || document.querySelector("[data-conn]");
    if (el) el.textContent = text;
  }

  // Follow a stream until a terminal event, reconnecting with Last-Event-ID after a drop.
  async function follow(url, state, onEvent, root) {
    for (let attempt = 0; attempt < 50; attempt++) {
      setConn(root, attempt ? "reconnecting…" : "live");
      const outcome = await readStream(url, { method: "GET" }, state, onEvent);
      if (outcome === "ended") { setConn(root, "ended"); return; }
      await new Promise(function (r) { setTimeout(r, Math.min(500 * (attempt + 1), 5000)); });
    }
    setConn(root, "disconnected: reload the page");
  }

  function summary(frame) {
    const d = frame.data;
    if (typeof d !== "object" || d === null) return String(d);
    // An investigation's records are {type, turn, phase, data}: say which tool ran with what, and what it gave.
    const inner = d.data && typeof d.data === "object" ? d.data : null;
    if (inner) {
      const turn = d.turn ? "turn " + d.turn + ": " : "";
      if (inner.name && inner.args !== undefined) return turn + inner.name + " " + JSON.stringify(inner.args);
      if (inner.name && inner.result !== undefined) return turn + inner.name + " \u2192 " + String(inner.result).slice(0, 300);
      if (inner.content) return turn + inner.content;
      if (inner.status) return turn + inner.status + (inner.confidence !== undefined ? " (confidence " + inner.confidence + ")" : "");
      return turn + JSON.stringify(inner);
    }
    if (d.phase) return d.phase + (d.message ? ": " + d.message : "");
    if (d.content) return d.content;
    if (d.text) return d.text;
    if (d.message) return d.message;
    return JSON.stringify(d);
  }

  function liveStream(list) {
    const state = { lastId: null };
    const section = list.closest("section") || document;
    follow(list.dataset.stream, state, function (frame) {
      const li = document.createElement("li");
      li.dataset.id = frame.id || "";
      li.textContent = (frame.id ? "#" + frame.id + " " : "") + frame.event + " " + summary(frame);
      list.appendChild(li);
      list.scrollTop = list.scrollHeight;
      const phase = frame.data && frame.data.phase;
      const badge = document.querySelector("#task-phase [data-phase]");
      if (phase && badge) {
        badge.textContent = phase;
        badge.className = "phase " + ({ Succeeded: "ok", Failed: "bad", Running: "live", Pending: "wait" }[phase] || "muted");
      }
      const status = document.getElementById("incident-status");  // an investigation's page: its status, live
      if (status && TERMINAL.has(frame.event)) {
        const ended = frame.data && frame.data.data && frame.data.data.status;
        status.textContent = ended || (frame.event === "cancelled" ? "cancelled" : status.textContent);
      }
      if (TERMINAL.has(frame.event) && list.dataset.refresh && window.htmx) {
        for (const sel of list.dataset.refresh.split(",")) {
          const target = document.querySelector(sel);
          if (target) window.htmx.trigger(target, "refresh");
        }
      }
    }, section);
  }

  // -- chat ----------------------------------------------------------------------------------------
  function chat(form) {
    const log = document.getElementById("chat-log");
    const sessionInput = form.querySelector("input[name=sessionId]");
    const cancel = form.querySelector("[data-chat-cancel]");
    let reply = null;

    function add(cls, text) {
      const li = document.createElement("li");
      li.className = cls;
      li.textContent = text;
      log.appendChild(li);
      log.scrollTop = log.scrollHeight;
      return li;
    }

    function onEvent(frame) {
      const d = frame.data || {};
      if (d.sessionId && sessionInput.value !== d.sessionId) {
        sessionInput.value = d.sessionId;
        cancel.disabled = false;
        history.replaceState(null, "", "/console/chat?session=" + encodeURIComponent(d.sessionId));
      }
      if (frame.event === "message") {
        if (!reply) reply = add("msg assistant", "");
        reply.textContent += d.content || "";
      } else if (frame.event === "tool_call") {
        reply = null;
        add("tool", "→ " + d.toolCall.name + " " + JSON.stringify(d.toolCall.args || {}));
      } else if (frame.event === "tool_result") {
        const li = add("tool", "← " + d.toolCall.name + " " + JSON.stringify(d.toolCall.result || {}).slice(0, 300));
        const data = ((d.toolCall.result || {}).data) || {};
        const task = data.name || data.taskName || (data.task && data.task.name);
        if (task && /task/.test(d.toolCall.name)) {
          const a = document.createElement("a");
          a.href = "/console/tasks/" + encodeURIComponent(task) + (data.namespace ? "?namespace=" + encodeURIComponent(data.namespace) : "");
          a.textContent = " open task " + task;
          a.className = "task-link";
          li.appendChild(a);
        }
      } else if (frame.event === "error") {
        add("error", (d.error && d.error.message) || d.message || "error");  // {"error": {"code", "message"}}
      } else if (frame.event === "done") {
        reply = null;
      }
    }

    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      const body = new URLSearchParams(new FormData(form));
      const text = body.get("message");
      if (!text || !text.trim()) return;
      add("msg user", text);
      form.querySelector("textarea").value = "";
      reply = null;
      const state = { lastId: null };
      setConn(document, "streaming…");
      const outcome = await readStream("/console/chat/send", {
        method: "POST", body: body,
        headers: { "X-CSRF-Token": csrf(), "Content-Type": "application/x-www-form-urlencoded" },
      }, state, onEvent);
      if (outcome !== "ended" && sessionInput.value) {  // dropped mid-turn: resume where we were
        await follow("/console/chat/" + encodeURIComponent(sessionInput.value) + "/events", state, onEvent, document);
      } else {
        setConn(document, "");
      }
    });

    cancel.addEventListener("click", async function () {
      if (!sessionInput.value) return;
      await fetch("/console/chat/" + encodeURIComponent(sessionInput.value) + "/cancel", {
        method: "POST", headers: { "X-CSRF-Token": csrf() }, credentials: "same-origin", redirect: "manual",
      });
      add("tool", "cancel requested");
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-stream]").forEach(liveStream);
    document.querySelectorAll("form[data-chat]").forEach(chat);
  });

  // Ends every open stream as a network failure would (used by the browser tests to prove resumption).
  window.shoalConsole = { drop: function () { controllers.forEach(function (c) { c.abort(); }); } };
})();
