// The login page: POST /auth/login sets the session cookie, then go where the visitor was headed.
import { api } from "./api.js";

function destination() {
  const next = new URLSearchParams(location.search).get("next") || "";
  // Only paths on this site: "//host" or "https://..." would send the user elsewhere after signing in.
  return next.startsWith("/") && !next.startsWith("//") && !next.startsWith("/\\") ? next : "/ui/jobs";
}

const form = document.getElementById("login-form");
const error = document.getElementById("login-error");
const button = document.getElementById("sign-in");

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  error.classList.add("hidden");
  button.disabled = true;
  try {
    await api("POST", "/auth/login", {
      json: { name: form.elements.name.value.trim(), password: form.elements.password.value },
    });
    location.assign(destination());
  } catch (err) {
    error.textContent = err.status === 401 ? "Wrong user name or password." : err.message;
    error.classList.remove("hidden");
    button.disabled = false;
    form.elements.password.select();
  }
});
