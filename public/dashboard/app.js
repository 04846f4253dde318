// The dashboard: every queue with live counters (one catalog feed socket), and one queue in detail. Plain modules,
// no build, no framework: it uses the service's own API (/v1) and WebSockets (no polling), with a token typed once
// when authentication is on (kept in sessionStorage; sockets open with single-use tickets).
import { esc, setToken, stopAll, token, Unauthorized } from "./api.js";
import { overview } from "./overview.js";
import { queueView } from "./queue-view.js";

const main = document.getElementById("main");
const connection = document.getElementById("connection");
let leave = () => {};

function login(problem) {
  stopAll();
  connection.dataset.state = "";
  connection.textContent = "Not signed in";
  main.innerHTML = `<h2>Sign in</h2><form class="login">
    <p>This service needs a token: the admin secret, or a scoped token with the <code>observe</code> right
    (over <code>*</code> for the list of queues; <code>admin</code> to redrive, purge or shut down). It is kept for
    this tab only.</p>
    <label for="token">Token</label><input id="token" name="token" type="password" autocomplete="off" required>
    <button type="submit">Sign in</button>
    <p id="login-error" class="error" role="alert">${problem ? `That token was refused: ${esc(problem)}` : ""}</p>
    </form>`;
  main.querySelector("form").addEventListener("submit", (e) => {
    e.preventDefault();
    setToken(main.querySelector("#token").value.trim());
    void route();
  });
  main.querySelector("#token").focus();
}

/** A refused token asks for another; a token whose scope falls short says so, and offers to open one queue. */
function failed(e) {
  if (e instanceof Unauthorized) {
    const refused = token() ? e.message : "";
    setToken(null);
    return login(refused);
  }
  stopAll();
  main.innerHTML = `<p class="error" role="alert">${esc(e.message)}</p>
    <form class="login" id="open"><label for="queue">Open a queue by name</label><input id="queue" required>
    <button type="submit">Open</button></form><p><a href="#/">← All queues</a></p>`;
  main.querySelector("#open").addEventListener("submit", (ev) => {
    ev.preventDefault();
    location.hash = `#/queue/${encodeURIComponent(main.querySelector("#queue").value.trim())}`;
  });
}

async function route() {
  stopAll();
  leave();
  leave = () => {};
  const [, path = "/", query = ""] = location.hash.match(/^#([^?]*)\??(.*)$/) ?? [];
  const queue = path.match(/^\/queue\/(.+)$/);
  try {
    if (queue) leave = (await queueView(main, decodeURIComponent(queue[1]), failed)) ?? leave;
    else await overview(main, new URLSearchParams(query), failed);
  } catch (e) {
    failed(e);
  }
}

addEventListener("hashchange", route);
void route(); // never rejects: route() shows its own errors
