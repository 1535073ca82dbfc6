// The Vessel dashboard: the VM list from GET /v1/vms every second, buttons for the lifecycle requests, a snapshot form
// (POST /v1/vms/NAME/snapshot), a restore form (POST /v1/vms with a restore object), and the serial console over the
// console WebSocket in xterm.js. Everything shown goes in as textContent, never as markup. The token comes once in the URL's fragment (#token=...), which the
// browser never sends to the server, and is kept for this tab only.
"use strict";

const token = (() => {
  const match = location.hash.match(/token=([0-9A-Za-z_-]+)/);
  if (match) {
    sessionStorage.setItem("vessel-token", match[1]);
    history.replaceState(null, "", location.pathname);
  }
  return sessionStorage.getItem("vessel-token") || "";
})();

const statusLine = document.getElementById("status");
const rows = document.querySelector("#vms tbody");
let consoleSession = null;

async function api(method, path, body) {
  const headers = { Authorization: `Bearer ${token}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(`/v1/vms${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  if (!response.ok) {
    let message = text;
    try { message = JSON.parse(text).error; } catch { /* not the API's error shape */ }
    throw new Error(message);
  }
  return text ? JSON.parse(text) : null;
}

function uptime(seconds) {
  if (seconds == null) return "-";
  const s = Math.floor(seconds);
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, "0")}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${s}s`;
}

function limits(vm) {
  const l = vm.limits || {};
  if (!l.cpu_max) return "none";
  const [quota, period] = l.cpu_max.split(" ").map(Number);
  return `cpu ${+(quota / period).toFixed(2)}, mem ${Math.round(l.memory_max_bytes / 1048576)} MiB`;
}

const actions = [
  ["start", vm => vm.state === "Stopped" || vm.state === "Failed"],
  ["pause", vm => vm.state === "Running"],
  ["resume", vm => vm.state === "Paused"],
  ["stop", vm => vm.state === "Running" || vm.state === "Paused"],
  ["console", vm => vm.state === "Running" || vm.state === "Paused"],
  ["snapshot", vm => vm.state === "Running" || vm.state === "Paused"],
];

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function render(vms) {
  rows.replaceChildren(...vms.map(vm => {
    const tr = document.createElement("tr");
    tr.dataset.vm = vm.name;
    const state = cell(vm.state, `state state-${vm.state}`);
    if (vm.reason) state.title = vm.reason;
    tr.append(cell(vm.name), state, cell(vm.pid ?? "-"), cell(vm.vcpu_count), cell(`${vm.mem_size_mib} MiB`),
      cell(uptime(vm.uptime_seconds)), cell(limits(vm)));
    const buttons = document.createElement("td");
    for (const [action, allowed] of actions) {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = action;
      button.dataset.action = action;
      button.disabled = !allowed(vm);
      button.addEventListener("click", () => act(vm.name, action));
      buttons.append(button);
    }
    tr.append(buttons);
    return tr;
  }));
  document.getElementById("empty").hidden = vms.length > 0;
}

async function refresh() {
  try {
    render(await api("GET", ""));
    statusLine.textContent = "";
  } catch (error) {
    statusLine.textContent = error.message;
  }
}

async function act(name, action) {
  if (action === "console") {
    openConsole(name);
    return;
  }
  if (action === "snapshot") {
    openSnapshot(name);
    return;
  }
  try {
    statusLine.textContent = `${action} ${name}...`;
    await api("POST", `/${encodeURIComponent(name)}/${action}`, action === "stop" ? { timeout_seconds: 5 } : undefined);
    statusLine.textContent = "";
  } catch (error) {
    statusLine.textContent = error.message;
  }
  await refresh();
}

function openConsole(name) {
  closeConsole();
  document.getElementById("console-panel").hidden = false;
  document.getElementById("console-name").textContent = name;
  const terminal = new Terminal({ convertEol: true, rows: 24, cols: 100 });
  terminal.open(document.getElementById("terminal"));
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/v1/vms/${encodeURIComponent(name)}/console?history=true&token=${token}`);
  socket.binaryType = "arraybuffer";
  socket.onmessage = event => terminal.write(new Uint8Array(event.data));
  socket.onclose = event => terminal.write(`\r\n[console closed${event.reason ? `: ${event.reason}` : ""}]\r\n`);
  const encoder = new TextEncoder();
  const typing = terminal.onData(data => {
    if (socket.readyState === WebSocket.OPEN) socket.send(encoder.encode(data));
  });
  consoleSession = { terminal, socket, typing };
  window.vesselTerminal = terminal;
  terminal.focus();
}

function closeConsole() {
  if (!consoleSession) return;
  consoleSession.typing.dispose();
  consoleSession.socket.close();
  consoleSession.terminal.dispose();
  consoleSession = null;
  document.getElementById("console-panel").hidden = true;
}

const notice = document.getElementById("notice");
const snapshotForm = document.getElementById("snapshot-form");
const restoreForm = document.getElementById("restore-form");

function openSnapshot(name) {
  snapshotForm.dataset.vm = name;
  document.getElementById("snapshot-name").textContent = name;
  document.getElementById("snapshot-error").textContent = "";
  snapshotForm.hidden = false;
  snapshotForm.elements.snapshot_path.focus();
}

// Sends a form's request with its submit button held down; a failure shows the daemon's sentence under the form.
async function submit(form, errorId, busy, send) {
  const error = document.getElementById(errorId);
  const button = form.querySelector("button[type='submit']");
  error.textContent = "";
  notice.textContent = "";
  button.disabled = true;
  statusLine.textContent = busy;
  try {
    await send(form.elements);
    statusLine.textContent = "";
    return true;
  } catch (failure) {
    error.textContent = failure.message;
    statusLine.textContent = "";
    return false;
  } finally {
    button.disabled = false;
    await refresh();
  }
}

snapshotForm.addEventListener("submit", async event => {
  event.preventDefault();
  const name = snapshotForm.dataset.vm;
  const done = await submit(snapshotForm, "snapshot-error", `snapshot ${name}...`, fields =>
    api("POST", `/${encodeURIComponent(name)}/snapshot`, {
      snapshot_path: fields.snapshot_path.value.trim(),
      mem_file_path: fields.mem_file_path.value.trim(),
      snapshot_type: fields.snapshot_type.value,
    }));
  if (done) {
    snapshotForm.hidden = true;
    notice.textContent = `Snapshot of ${name} written to ${snapshotForm.elements.snapshot_path.value.trim()}.`;
  }
});

document.getElementById("snapshot-cancel").addEventListener("click", () => { snapshotForm.hidden = true; });

restoreForm.addEventListener("submit", async event => {
  event.preventDefault();
  const name = restoreForm.elements.name.value.trim();
  const done = await submit(restoreForm, "restore-error", `restore ${name}...`, fields =>
    api("POST", "", {
      name,
      restore: { snapshot_path: fields.snapshot_path.value.trim(), mem_file_path: fields.mem_file_path.value.trim() },
      start: true,
    }));
  if (done) {
    notice.textContent = `${name} restored from ${restoreForm.elements.snapshot_path.value.trim()}.`;
    restoreForm.elements.name.value = "";
  }
});

document.getElementById("console-close").addEventListener("click", closeConsole);
refresh();
setInterval(refresh, 1000);
