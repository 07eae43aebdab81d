// Talking to the twinhood API: the login token, REST calls, GraphQL queries and subscriptions.
//
// The token from POST /auth/login is kept in sessionStorage (gone when the tab closes) and sent
// as `Authorization: Bearer …` on every call; a 401 means it expired, so we forget it and go
// back to the login page. Values the API masks (ID numbers, phones) arrive masked and are shown
// as they arrive: the browser never sees more than the caller's role allows.

const TOKEN_KEY = "twinhood.token";
const USER_KEY = "twinhood.user";

export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function currentUser() {
  const raw = sessionStorage.getItem(USER_KEY);
  return raw ? JSON.parse(raw) : null;
}

export function logout() {
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(USER_KEY);
  location.hash = "#/login";
}

export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

/** Log in; on success the token and who we are (GET /auth/me) are stored. */
export async function login(username, password) {
  const answer = await fetch("/auth/login", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username, password }),
  });
  const body = await answer.json().catch(() => ({}));
  if (!answer.ok) {
    const detail = typeof body.detail === "string" ? body.detail : "login refused";
    throw new ApiError(detail, answer.status);
  }
  sessionStorage.setItem(TOKEN_KEY, body.access_token);
  const me = await request("/auth/me");
  sessionStorage.setItem(USER_KEY, JSON.stringify(await me.json()));
}

export function authHeaders() {
  const t = token();
  return t ? { Authorization: `Bearer ${t}` } : {};
}

/** fetch() with the token; a 401 logs out. */
export async function request(path, options = {}) {
  const answer = await fetch(path, { ...options, headers: { ...(options.headers ?? {}), ...authHeaders() } });
  if (answer.status === 401) {
    logout();
    throw new ApiError("your session has ended; log in again", 401);
  }
  return answer;
}

/** Run a GraphQL query or mutation; GraphQL errors are thrown with their message. */
export async function gql(query, variables = {}) {
  const answer = await request("/graphql", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query, variables }),
  });
  const body = await answer.json();
  if (body.errors?.length) {
    throw new ApiError(body.errors.map((e) => e.message).join("; "), answer.status);
  }
  return body.data;
}

/**
 * Subscribe over graphql-transport-ws; `onData` gets each result's `data`. The socket
 * reconnects after a drop until the returned function is called.
 */
export function subscribe(query, variables, onData, onState = () => {}) {
  let socket = null;
  let stopped = false;
  let retry = null;

  const open = () => {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${location.host}/graphql`, "graphql-transport-ws");
    socket.onopen = () => {
      socket.send(JSON.stringify({ type: "connection_init", payload: { Authorization: `Bearer ${token()}` } }));
    };
    socket.onmessage = (message) => {
      const msg = JSON.parse(message.data);
      if (msg.type === "connection_ack") {
        socket.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query, variables } }));
        onState("live");
      } else if (msg.type === "ping") {
        socket.send(JSON.stringify({ type: "pong" }));
      } else if (msg.type === "next" && msg.payload?.data) {
        onData(msg.payload.data);
      } else if (msg.type === "error") {
        onState("error");
      }
    };
    socket.onclose = (event) => {
      onState("closed");
      if (event.code === 4403) {
        logout();
      } else if (!stopped) {
        retry = setTimeout(open, 2000);
      }
    };
  };
  open();
  return () => {
    stopped = true;
    clearTimeout(retry);
    socket?.close();
  };
}

/** Escape text for innerHTML. */
export function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The uid of a device named by its uid or its code (alarms carry the uid). */
export function deviceUid(device) {
  if (!device) return null;
  return device.startsWith("device:") ? device : `device:${device}`;
}

/** A link to an entity's profile page. */
export function entityLink(uid, caption) {
  return `<a href="#/profile/${encodeURIComponent(uid)}" data-uid="${esc(uid)}">${esc(caption || uid)}</a>`;
}

export function when(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : d.toLocaleString("zh-CN", { hour12: false });
}
