// The one-page app: hash routes to views. Each view module exports `mount(element, route)`
// and returns a function that tears it down (closes sockets, removes the map) when we leave.
//
//   #/login               log in
//   #/map                 the map (?trajectory=<uid> replays a person's or vehicle's passes)
//   #/alarms              the alarm desk
//   #/explorer            the relationship explorer (?uid=<uid> starts from an entity)
//   #/building/<uid>      a building in 3D
//   #/profile/<uid>       a profile (全息档案)

import "maplibre-gl/dist/maplibre-gl.css";
import "./style.css";
import { currentUser, logout, token } from "./api.js";
import * as loginView from "./views/login.js";

const views = {
  login: () => Promise.resolve(loginView),
  map: () => import("./views/map.js"),
  alarms: () => import("./views/alarms.js"),
  explorer: () => import("./views/explorer.js"),
  building: () => import("./views/building.js"),
  profile: () => import("./views/profile.js"),
};

let unmount = null;
let generation = 0;

export function parseRoute(hash) {
  const [path, query] = hash.replace(/^#\/?/, "").split("?");
  const [name, ...rest] = path.split("/");
  return {
    name: name || "map",
    arg: rest.length ? decodeURIComponent(rest.join("/")) : null,
    params: new URLSearchParams(query ?? ""),
  };
}

async function route() {
  const current = ++generation;
  let next = parseRoute(location.hash);
  if (!token() && next.name !== "login") {
    location.hash = "#/login";
    return;
  }
  if (!views[next.name]) next = { ...next, name: "map" };
  const bar = document.getElementById("bar");
  bar.hidden = next.name === "login";
  const user = currentUser();
  document.getElementById("who").textContent = user ? `${user.username} (${user.roles.join(", ")})` : "";
  for (const a of bar.querySelectorAll("nav a")) a.classList.toggle("active", a.dataset.view === next.name);

  const module = await views[next.name]();
  if (current !== generation) return; // the hash changed again while the view loaded
  if (unmount) unmount();
  unmount = null;
  const element = document.getElementById("view");
  element.innerHTML = "";
  element.className = `view-${next.name}`;
  const teardown = (await module.mount(element, next)) ?? null;
  if (current !== generation) {
    teardown?.(); // left before the view was ready
    return;
  }
  unmount = teardown;
}

document.getElementById("logout").addEventListener("click", logout);
window.addEventListener("hashchange", route);
route();
