// Titanium blog UI: the little JavaScript the pages need, no framework, no CDN.
// The access token lives in sessionStorage (gone when the tab closes) and is
// sent as a Bearer header to the gateway's /api/*; there are no cookies, so no
// CSRF. Everything user-supplied is put in the page with textContent, never
// innerHTML.
"use strict";

(() => {
  const body = document.body;
  const API = body.dataset.api;
  const UI = body.dataset.ui;
  const TOKEN_KEY = "titanium.access_token";

  function claims(token) {
    // Display only (who is signed in, is this my post): the services verify it.
    try {
      const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      const json = decodeURIComponent(
        Array.from(atob(part), (c) => "%" + c.charCodeAt(0).toString(16).padStart(2, "0")).join(""),
      );
      const payload = JSON.parse(json);
      if (payload.exp && payload.exp * 1000 < Date.now()) return null;
      return payload;
    } catch {
      return null;
    }
  }

  const session = {
    get token() {
      return sessionStorage.getItem(TOKEN_KEY);
    },
    get user() {
      const token = this.token;
      return token ? claims(token) : null;
    },
    save(token) {
      sessionStorage.setItem(TOKEN_KEY, token);
    },
    clear() {
      sessionStorage.removeItem(TOKEN_KEY);
    },
  };

  async function api(method, path, payload) {
    const headers = { Accept: "application/json" };
    if (payload !== undefined) headers["Content-Type"] = "application/json";
    if (session.token) headers.Authorization = `Bearer ${session.token}`;
    const response = await fetch(API + path, {
      method,
      headers,
      body: payload === undefined ? undefined : JSON.stringify(payload),
    });
    let data = null;
    if (response.status !== 204) {
      try {
        data = await response.json();
      } catch {
        data = null;
      }
    }
    return { status: response.status, ok: response.ok, data };
  }

  function describeError(result) {
    const data = result.data || {};
    if (result.status === 401 && session.token) {
      session.clear();
      return "Your session has expired: please log in again.";
    }
    if (Array.isArray(data.fields) && data.fields.length) {
      return data.fields.map((f) => `${f.field.split(".").pop()}: ${f.message}`).join("\n");
    }
    if (Array.isArray(data.detail)) {
      return data.detail.map((d) => `${(d.loc || []).slice(-1)[0]}: ${d.msg}`).join("\n");
    }
    if (typeof data.detail === "string") return data.detail;
    if (result.status === 429) return "Too many attempts: wait a minute and try again.";
    return `The request failed (HTTP ${result.status}).`;
  }

  function showError(container, message) {
    const box = container.querySelector(".form-error");
    box.textContent = message;
    box.hidden = !message;
  }

  function renderSession() {
    const user = session.user;
    document.querySelectorAll(".signed-in").forEach((el) => (el.hidden = !user));
    document.querySelectorAll(".signed-out").forEach((el) => (el.hidden = Boolean(user)));
    const name = document.getElementById("session-name");
    if (name) name.textContent = user ? user.username || `user ${user.sub}` : "";
    const article = document.querySelector("article.post");
    if (article) {
      const mine = user && String(user.sub) === article.dataset.authorId;
      article.querySelector(".author-actions").hidden = !mine;
    }
  }

  async function logIn(username, password) {
    const result = await api("POST", "/auth/login", { username, password });
    if (result.ok && result.data && result.data.access_token) {
      session.save(result.data.access_token);
    }
    return result;
  }

  function formValues(form) {
    return Object.fromEntries(new FormData(form).entries());
  }

  function onSubmit(form, handler) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const button = form.querySelector("button[type=submit]");
      button.disabled = true;
      showError(form, "");
      try {
        await handler(formValues(form));
      } catch (error) {
        showError(form, `Could not reach the server (${error.message}).`);
      } finally {
        button.disabled = false;
      }
    });
  }

  const handlers = {
    login(form) {
      onSubmit(form, async ({ username, password }) => {
        const result = await logIn(username, password);
        if (!result.ok) return showError(form, describeError(result));
        window.location.assign(`${UI}/`);
      });
    },
    register(form) {
      onSubmit(form, async (values) => {
        const created = await api("POST", "/auth/register", values);
        if (!created.ok) return showError(form, describeError(created));
        const result = await logIn(values.username, values.password);
        if (!result.ok) return showError(form, describeError(result));
        window.location.assign(`${UI}/`);
      });
    },
    post(form) {
      if (!session.user) {
        window.location.assign(`${UI}/login`);
        return;
      }
      fillCategoryChoices();
      const postId = form.dataset.postId;
      onSubmit(form, async (values) => {
        const result = postId
          ? await api("PATCH", `/posts/${postId}`, values)
          : await api("POST", "/posts", values);
        if (!result.ok) return showError(form, describeError(result));
        window.location.assign(`${UI}/posts/${result.data.id}`);
      });
    },
  };

  async function fillCategoryChoices() {
    const list = document.getElementById("category-names");
    if (!list) return;
    const result = await api("GET", "/categories");
    if (!result.ok || !Array.isArray(result.data)) return;
    for (const category of result.data) {
      const option = document.createElement("option");
      option.value = category.name;
      list.append(option);
    }
  }

  function wireDelete() {
    const button = document.getElementById("delete-post");
    if (!button) return;
    const article = button.closest("article");
    button.addEventListener("click", async () => {
      if (!window.confirm("Delete this post?")) return;
      const result = await api("DELETE", `/posts/${article.dataset.postId}`);
      if (!result.ok) return showError(article, describeError(result));
      window.location.assign(`${UI}/`);
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    renderSession();
    document.getElementById("logout").addEventListener("click", () => {
      session.clear();
      renderSession();
    });
    document.querySelectorAll("form[data-form]").forEach((form) => {
      const handler = handlers[form.dataset.form];
      if (handler) handler(form);
    });
    wireDelete();
  });
})();
