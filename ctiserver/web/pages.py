"""The login page at ``/``: a placeholder until the agent desktop arrives."""

from __future__ import annotations

import jinja2
from aiohttp import web

from ctiserver.web.keys import SETTINGS_KEY

_env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)

_LOGIN = _env.from_string(
    """<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>售后服务热线 {{ hotline }} · ctiserver</title>
</head>
<body>
<h1>售后服务热线 {{ hotline }}</h1>
<form id="login">
  <label>Username <input name="username" autocomplete="username" required></label>
  <label>Password
    <input name="password" type="password" autocomplete="current-password" required></label>
  <button type="submit">Log in</button>
</form>
<p id="status" role="status"></p>
<script>
document.getElementById("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const response = await fetch("/login", {
    method: "POST",
    headers: {"Content-Type": "application/json"},
    body: JSON.stringify({username: form.get("username"), password: form.get("password")}),
  });
  const body = await response.json();
  document.getElementById("status").textContent = response.ok
    ? "Logged in as " + (body.user.display_name || body.user.username)
    : body.error;
});
</script>
</body>
</html>
"""
)


async def index(request: web.Request) -> web.Response:
    html = _LOGIN.render(hotline=request.app[SETTINGS_KEY].hotline.number)
    return web.Response(text=html, content_type="text/html", charset="utf-8")
