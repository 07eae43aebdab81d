// A profile (全息档案) on a page of its own: #/profile/<uid>.
import { renderProfile } from "../profile-panel.js";

export function mount(element, route) {
  element.innerHTML = `<article class="card profile-page"></article>`;
  const page = element.querySelector("article");
  if (!route.arg) {
    page.innerHTML = `<p class="muted">open a profile from the map, the explorer, the 3D view or an alarm</p>`;
    return;
  }
  renderProfile(page, route.arg, {
    onTrajectory: (uid) => (location.hash = `#/map?trajectory=${encodeURIComponent(uid)}`),
  });
}
