// Log in: POST /auth/login with the username and password; the token is kept for this tab.
import { esc, login } from "../api.js";

export function mount(element, route) {
  element.innerHTML = `
    <form id="login" class="card login">
      <h1>twinhood</h1>
      <p>智慧社区 · community knowledge graph</p>
      <label>User <input name="username" autocomplete="username" required autofocus /></label>
      <label>Password <input name="password" type="password" autocomplete="current-password" required /></label>
      <button type="submit">Log in</button>
      <p class="error" role="alert"></p>
    </form>`;
  const form = element.querySelector("form");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = form.querySelector(".error");
    error.textContent = "";
    const data = new FormData(form);
    try {
      await login(data.get("username"), data.get("password"));
      location.hash = route.params.get("next") || "#/map";
    } catch (exc) {
      error.innerHTML = esc(exc.message);
    }
  });
}
