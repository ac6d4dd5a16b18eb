// The staff page: one search box over POST /ask, streamed (falling back to /search), and the documents list.
// Every piece of text from the server goes into the DOM through textContent, never innerHTML.
"use strict";

(function () {
  const TEXT = window.GOVQA_TEXT;
  const LANG_KEY = "govqa.lang";
  const API_KEY = "govqa.apiKey";  // sessionStorage: forgotten when the tab closes
  const CJK_BREAK = /([\u3000-\u30ff\u3400-\u9fff\uff00-\uffef])\s*\n\s*(?=[\u3000-\u30ff\u3400-\u9fff\uff00-\uffef])/g;

  const state = { lang: initialLang(), last: null, status: null, health: null, documents: null, controller: null,
                  apiKey: "" };
  const $ = (id) => document.getElementById(id);

  function initialLang() {
    try {
      const saved = localStorage.getItem(LANG_KEY);
      if (saved === "ja" || saved === "en") return saved;
    } catch (e) { /* storage may be disabled by policy */ }
    return (navigator.language || "ja").toLowerCase().startsWith("en") ? "en" : "ja";
  }

  function t(key, values) {
    const template = (TEXT[state.lang] && TEXT[state.lang][key]) || TEXT.ja[key] || key;
    return template.replace(/\{(\w+)\}/g, (_, name) => (values && name in values ? String(values[name]) : ""));
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  // Japanese lines broken by the PDF layout are joined; a line break there is not a space.
  function tidy(text) {
    return String(text).replace(CJK_BREAK, "$1");
  }

  function isExternal(url) {
    return typeof url === "string" && /^https?:\/\//i.test(url);
  }

  // ---- language ----

  function applyLang() {
    document.documentElement.lang = state.lang;
    document.title = t("appName") + " | govqa";
    for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
    for (const node of document.querySelectorAll("[data-i18n-placeholder]")) node.placeholder = t(node.dataset.i18nPlaceholder);
    for (const node of document.querySelectorAll("[data-i18n-aria-label]")) node.setAttribute("aria-label", t(node.dataset.i18nAriaLabel));
    for (const button of document.querySelectorAll(".lang-toggle button")) {
      button.setAttribute("aria-pressed", String(button.dataset.lang === state.lang));
    }
    renderHealth();
    if (state.status) showStatus(state.status.kind, state.status.values);
    if (state.last) renderResults(state.last.data, state.last.note);
    if (state.documents) renderDocuments(state.documents);
    document.dispatchEvent(new CustomEvent("govqa:lang"));
  }

  function setLang(lang) {
    state.lang = lang;
    try { localStorage.setItem(LANG_KEY, lang); } catch (e) { /* not remembered, still switched */ }
    applyLang();
  }

  // ---- talking to the server ----

  // ---- the API key (only when the server has one: GOVQA_API_KEY) ----

  let keyPrompt = null;

  function savedKey() {
    try { return sessionStorage.getItem(API_KEY) || state.apiKey || ""; } catch (e) { return state.apiKey || ""; }
  }

  function withKey(options) {
    const key = savedKey();
    if (!key) return options;
    return { ...options, headers: { ...((options && options.headers) || {}), "Authorization": "Bearer " + key } };
  }

  // Resolves once the person has typed a key; every request waiting on a 401 shares one prompt.
  function askForKey(rejected) {
    if (!keyPrompt) {
      keyPrompt = new Promise((resolve) => {
        const form = $("key-form");
        $("key-wrong").hidden = !rejected;
        form.hidden = false;
        $("api-key").value = "";
        $("api-key").focus();
        form.addEventListener("submit", function submitted(event) {
          event.preventDefault();
          const key = $("api-key").value.trim();
          if (!key) return;
          form.removeEventListener("submit", submitted);
          state.apiKey = key;
          try { sessionStorage.setItem(API_KEY, key); } catch (e) { /* kept in memory for this page */ }
          form.hidden = true;
          keyPrompt = null;
          resolve();
          loadHealth();  // the counts a key (or token) may see, not the anonymous zero
          document.dispatchEvent(new CustomEvent("govqa:key"));
        });
      });
    }
    return keyPrompt;
  }

  // fetch with the key, asking for one on 401; a network failure becomes one "offline" error.
  async function send(path, options) {
    try {
      let response = await fetch(path, withKey(options));
      for (let tries = 0; response.status === 401 && tries < 5; tries++) {
        await askForKey(Boolean(savedKey()));
        response = await fetch(path, withKey(options));
      }
      return response;
    } catch (error) {
      if (error.name === "AbortError") throw error;
      const offline = new Error(t("offline"));
      offline.offline = true;
      throw offline;
    }
  }

  async function requestJSON(path, options) {
    return readJSON(await send(path, options));
  }

  async function readJSON(response) {
    let data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    if (!response.ok) {
      const detail = data && typeof data.detail === "string" ? data.detail : "HTTP " + response.status;
      const failure = new Error(detail);
      failure.status = response.status;
      throw failure;
    }
    return data;
  }

  // POST /ask as server-sent events (askstream.js): onEvent sees the passages and each checked sentence
  // as they come; resolves to the answer. A reply that is not an event stream is read as /ask's JSON.
  async function askStreaming(body, signal, onEvent) {
    const response = await send("ask", {
      method: "POST", signal,
      headers: { "Content-Type": "application/json", "Accept": "text/event-stream, application/json" },
      body: JSON.stringify({ ...body, stream: true }),
    });
    const type = response.headers.get("Content-Type") || "";
    if (!response.ok || !type.startsWith("text/event-stream") || !window.GOVQA_STREAM) return readJSON(response);
    try {
      const answer = await window.GOVQA_STREAM.readAnswer(response, onEvent);
      if (answer) return answer;
    } catch (error) {
      if (error.name === "AbortError") throw error;
    }
    throw new Error(t("streamCut"));
  }

  function post(path, body, signal) {
    return requestJSON(path, {
      method: "POST", signal,
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify(body),
    });
  }

  // ---- search ----

  async function runSearch(query) {
    query = query.trim();
    if (!query) {
      showStatus("needQuery");
      $("q").focus();
      return;
    }
    if (state.controller) state.controller.abort();
    const controller = new AbortController();
    state.controller = controller;
    rememberQuery(query);
    state.last = null;
    clearResults();
    showStatus("loading");
    $("search-view").setAttribute("aria-busy", "true");
    try {
      let data;
      let note = null;
      let cards = null;  // rendered when the passages came, before the answer
      try {
        data = await askStreaming(withScope({ query }), controller.signal, (name, payload) => {
          if (controller !== state.controller) return;
          if (name === "hits" && Array.isArray(payload.hits) && payload.hits.length) {
            cards = renderResults({ hits: payload.hits }, null);
            showStatus("drafting");
          } else if (name === "delta" && cards) {
            draft(String(payload.text || ""));
          }
        });
      } catch (error) {
        // A summarizer that is down should not hide the passages: fall back to plain search.
        if (error.name === "AbortError" || error.offline || error.status === 422) throw error;
        data = await post("search", withScope({ query }), controller.signal);
        note = error.message;
        cards = null;
      }
      if (controller !== state.controller) return;
      state.last = { data, note };
      showStatus(data.hits && data.hits.length ? null : "empty");
      if (cards) {
        $("answer").hidden = true;
        renderAnswer(data, note, cards);
      } else {
        renderResults(data, note);
      }
    } catch (error) {
      if (error.name === "AbortError" || controller !== state.controller) return;
      showStatus(error.offline ? "offline" : "error", { detail: error.message });
    } finally {
      if (controller === state.controller) {
        $("answer").removeAttribute("aria-busy");
        $("search-view").removeAttribute("aria-busy");
        state.controller = null;
      }
    }
  }

  // filter.js sets GOVQA_SCOPE when the person may read several collections and unticked some.
  function withScope(body) {
    const collections = window.GOVQA_SCOPE ? window.GOVQA_SCOPE() : null;
    return collections ? { ...body, collections } : body;
  }

  function rememberQuery(query) {
    const url = new URL(window.location.href);
    url.searchParams.set("q", query);
    url.hash = "search";
    history.replaceState(null, "", url);
  }

  function showStatus(kind, values) {
    const box = $("status");
    state.status = kind ? { kind, values } : null;
    box.replaceChildren();
    box.className = "status" + (kind ? " status-" + kind : "");
    if (!kind) return;
    if (kind === "loading" || kind === "drafting") box.append(el("span", "spinner"));
    if (kind === "ready" && !state.health) return;
    const text = kind === "ready" ? t("ready", { docs: state.health.documents }) : t(kind, values);
    box.append(el("span", "status-text", text));
    box.setAttribute("role", kind === "error" || kind === "offline" ? "alert" : "status");
  }

  // The answer so far: its checked sentences as plain text, the [n] made links when it is complete.
  function draft(text) {
    const panel = $("answer");
    if (panel.hidden) {
      $("answer-text").replaceChildren();
      $("answer-sources").replaceChildren();
      $("answer-abstained").hidden = true;
      $("answer-note").hidden = true;
      panel.classList.remove("is-abstained", "is-note");
      panel.setAttribute("aria-busy", "true");  // read once it is whole, not sentence by sentence
      panel.hidden = false;
    }
    $("answer-text").hidden = false;
    $("answer-text").append(document.createTextNode(text));
  }

  function clearResults() {
    $("answer").hidden = true;
    $("results-heading").hidden = true;
    $("results").replaceChildren();
  }

  function renderResults(data, note) {
    clearResults();
    const hits = Array.isArray(data.hits) ? data.hits : [];
    const cards = new Map();
    hits.forEach((hit) => {
      const card = renderCard(hit);
      cards.set(hit.doc_id + "\u0000" + hit.page, card);
      $("results").append(card);
    });
    renderAnswer(data, note, cards);
    if (hits.length) {
      const heading = $("results-heading");
      heading.textContent = t("resultsHeading", { n: hits.length });
      heading.hidden = false;
    }
    return cards;
  }

  function renderCard(hit) {
    const card = el("li", "card");
    card.id = "hit-" + hit.rank;
    card.tabIndex = -1;
    card.dataset.docId = hit.doc_id;
    card.dataset.page = hit.page;
    card.hit = hit;

    const head = el("div", "card-head");
    head.append(el("span", "rank", hit.rank));
    const title = el("h3", "card-title", hit.title || hit.doc_id);
    head.append(title);
    card.append(head);

    const meta = el("p", "card-meta");
    meta.append(el("span", "page", t("page", { n: hit.page })));
    if (hit.publisher) meta.append(el("span", "publisher", hit.publisher));
    if (hit.year) meta.append(el("span", "year", hit.year));
    if (hit.ocr) meta.append(el("span", "ocr", t("readByOcr")));  // a scan's or a picture's words: may be misread
    card.append(meta);

    const passage = el("p", "passage");
    if (hit.lang) passage.lang = hit.lang;
    appendHighlighted(passage, String(hit.text || ""), hit.highlights);
    if (window.GOVQA_VIEWER) card.append(window.GOVQA_VIEWER.thumbnail(hit));  // the cited page, see viewer.js
    card.append(passage);

    const links = el("p", "card-links");
    const fileUrl = hit.file_url || hit.url;
    const isPdf = /#page=\d+$/.test(fileUrl || "");
    const open = el("a", "open-pdf", isPdf ? t("openPdf") : t("openFile"));
    open.href = fileUrl;
    open.target = "_blank";
    open.rel = "noopener";
    links.append(open);
    if (isExternal(hit.url)) {
      const original = el("a", "original", t("original"));
      original.href = hit.url;
      original.target = "_blank";
      original.rel = "noopener noreferrer";
      links.append(original);
    }
    card.append(links);
    return card;
  }

  // highlights are [start, end) offsets in code points, so index an array of code points, not the UTF-16 string.
  function appendHighlighted(parent, text, spans) {
    const chars = Array.from(text);
    let at = 0;
    for (const span of Array.isArray(spans) ? spans : []) {
      const start = Math.max(at, Math.min(chars.length, Number(span[0]) || 0));
      const end = Math.max(start, Math.min(chars.length, Number(span[1]) || 0));
      if (end <= start) continue;
      if (start > at) parent.append(document.createTextNode(tidy(chars.slice(at, start).join(""))));
      parent.append(el("mark", null, tidy(chars.slice(start, end).join(""))));
      at = end;
    }
    if (at < chars.length) parent.append(document.createTextNode(tidy(chars.slice(at).join(""))));
  }

  // note: why /ask failed when we fell back to /search. The server's own `message` says why an
  // answer is missing (backend down, nothing supported); an abstention has its own localized text.
  function renderAnswer(data, note, cards) {
    const panel = $("answer");
    const answer = typeof data.answer === "string" ? data.answer.trim() : "";
    const abstained = data.abstained === true;
    const message = !abstained && typeof data.message === "string" ? data.message.trim() : "";
    if (!answer && !abstained && !note && !message) return;
    const citations = new Map((data.citations || []).map((c) => [Number(c.n), c]));
    const text = $("answer-text");
    text.replaceChildren();
    $("answer-sources").replaceChildren();
    $("answer-abstained").hidden = !abstained;
    panel.classList.toggle("is-abstained", abstained);
    panel.classList.toggle("is-note", !answer && !abstained);
    if (answer && !abstained) appendCited(text, answer, citations, cards);
    if (note) text.append(el("span", "answer-fallback", t("summaryUnavailable", { detail: note })));
    else if (message) text.append(el(answer ? "small" : "span", "answer-fallback", (answer ? " " : "") + message));
    text.hidden = !text.childNodes.length;
    if (answer && !abstained) listSources(citations, cards);
    if (answer && !abstained) markQuoted(data.hits, cards);
    $("answer-note").hidden = !answer || abstained;
    panel.hidden = false;
  }

  // "… [1] … [2]" -> text with each known [n] a link to its card.
  function appendCited(parent, answer, citations, cards) {
    const marker = /\[(\d+)\]/g;
    let at = 0;
    let match;
    while ((match = marker.exec(answer)) !== null) {
      if (match.index > at) parent.append(document.createTextNode(answer.slice(at, match.index)));
      const citation = citations.get(Number(match[1]));
      parent.append(citation ? citeLink(citation, cards) : document.createTextNode(match[0]));
      at = match.index + match[0].length;
    }
    if (at < answer.length) parent.append(document.createTextNode(answer.slice(at)));
  }

  function citeLink(citation, cards) {
    const card = cards.get(citation.doc_id + "\u0000" + citation.page);
    const link = el("a", "cite", "[" + citation.n + "]");
    link.dataset.n = citation.n;
    if (card) {
      link.href = "#" + card.id;
      const title = card.querySelector(".card-title").textContent;
      link.setAttribute("aria-label", t("citeLabel", { n: citation.n, title, page: t("page", { n: citation.page }) }));
      link.addEventListener("click", (event) => {
        event.preventDefault();
        focusCard(card);
        if (window.GOVQA_VIEWER) window.GOVQA_VIEWER.open(card.hit, card);
      });
      if (!card.querySelector(".cited-as")) {
        card.querySelector(".card-meta").prepend(el("span", "cited-as", t("citedAs", { n: citation.n })));
      }
    } else {
      link.href = "documents/" + encodeURIComponent(citation.doc_id) + "/file#page=" + citation.page;
      link.target = "_blank";
      link.rel = "noopener";
    }
    return link;
  }

  function listSources(citations, cards) {
    const list = $("answer-sources");
    for (const citation of [...citations.values()].sort((a, b) => a.n - b.n)) {
      const item = el("li");
      item.append(citeLink(citation, cards));
      const card = cards.get(citation.doc_id + "\u0000" + citation.page);
      const title = card ? card.querySelector(".card-title").textContent : citation.doc_id;
      item.append(document.createTextNode(" " + title + " — " + t("page", { n: citation.page })));
      list.append(item);
    }
  }

  // The sentences the answer quotes, marked in the passages they come from (a paraphrase marks nothing).
  function markQuoted(hits, cards) {
    for (const hit of Array.isArray(hits) ? hits : []) {
      const card = cards.get(hit.doc_id + "\u0000" + hit.page);
      if (!card || !Array.isArray(hit.quoted) || !hit.quoted.length) continue;
      const passage = card.querySelector(".passage");
      if (!passage || String(card.hit.text || "") !== String(hit.text || "")) continue;
      passage.replaceChildren();
      appendQuoted(passage, String(hit.text || ""), hit.highlights, hit.quoted);
    }
  }

  // quoted and highlights are [start, end) code-point offsets; the query's terms stay marked inside a quotation.
  function appendQuoted(parent, text, highlights, quoted) {
    const chars = Array.from(text);
    const terms = Array.isArray(highlights) ? highlights : [];
    const part = (target, start, end) => appendHighlighted(target, chars.slice(start, end).join(""), terms
      .map((s) => [Math.max(Number(s[0]) || 0, start) - start, Math.min(Number(s[1]) || 0, end) - start])
      .filter((s) => s[1] > s[0]));
    let at = 0;
    for (const span of quoted) {
      const start = Math.max(at, Math.min(chars.length, Number(span[0]) || 0));
      const end = Math.max(start, Math.min(chars.length, Number(span[1]) || 0));
      if (end <= start) continue;
      if (start > at) part(parent, at, start);
      const mark = el("mark", "quoted");
      part(mark, start, end);
      parent.append(mark);
      at = end;
    }
    if (at < chars.length) part(parent, at, chars.length);
  }

  function focusCard(card) {
    for (const other of document.querySelectorAll(".card.is-cited")) other.classList.remove("is-cited");
    // Restart the flash even when the same card is clicked twice.
    void card.offsetWidth;
    card.classList.add("is-cited");
    const still = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    card.scrollIntoView({ behavior: still ? "auto" : "smooth", block: "center" });
    card.focus({ preventScroll: true });
  }

  // ---- documents ----

  async function loadDocuments() {
    if (state.documents) return;
    const status = $("documents-status");
    status.textContent = t("documentsLoading");
    try {
      state.documents = await requestJSON("documents", { headers: { "Accept": "application/json" } });
      renderDocuments(state.documents);
    } catch (error) {
      status.textContent = error.offline ? t("offline") : t("error", { detail: error.message });
      status.className = "status status-error";
    }
  }

  function renderDocuments(documents) {
    const status = $("documents-status");
    status.className = "status";
    status.textContent = documents.length ? t("documentsCount", { n: documents.length }) : t("documentsEmpty");
    const body = $("documents-body");
    body.replaceChildren();
    for (const doc of documents) {
      const row = el("tr");
      row.dataset.docId = doc.doc_id;
      row.dataset.collection = doc.collection || "default";

      const title = cell("colTitle");
      title.append(el("span", "doc-title", doc.title || doc.doc_id));
      const facts = [doc.publisher, doc.year].filter(Boolean).join(" · ");
      if (facts) title.append(el("span", "doc-facts", facts));
      if (doc.doc_id !== doc.title) title.append(el("span", "doc-id", doc.doc_id));
      row.append(title);

      const pages = cell("colPages", doc.pages);
      pages.classList.add("num");
      row.append(pages);
      row.append(cell("colLang", TEXT[state.lang]["lang_" + doc.lang] || doc.lang));

      const source = cell("colSource");
      const file = el("a", "doc-file", doc.kind === "pdf" ? t("filePdf") : t("fileOther"));
      file.href = doc.file_url;
      file.target = "_blank";
      file.rel = "noopener";
      source.append(file);
      if (isExternal(doc.url)) {
        const original = el("a", "doc-original", t("originalShort"));
        original.href = doc.url;
        original.target = "_blank";
        original.rel = "noopener noreferrer";
        original.title = doc.url;
        source.append(original);
      }
      row.append(source);
      body.append(row);
    }
    $("documents-table").hidden = !documents.length;
    document.dispatchEvent(new CustomEvent("govqa:documents"));  // upload.js adds replace/delete for editors
  }

  function cell(labelKey, text) {
    const td = el("td", null, text);
    td.dataset.label = t(labelKey);
    return td;
  }

  // ---- views, health, start ----

  function showView() {
    const view = { "#documents": "documents", "#upload": "upload", "#support": "support" }[window.location.hash] || "search";
    for (const name of ["search", "documents", "upload", "support"]) {
      $(name + "-view").hidden = name !== view;
      if (name === view) $("tab-" + name).setAttribute("aria-current", "page");
      else $("tab-" + name).removeAttribute("aria-current");
    }
    if (view === "documents") loadDocuments();
    document.dispatchEvent(new CustomEvent("govqa:view", { detail: view }));
  }

  async function loadHealth() {
    try {
      state.health = await requestJSON("health", { headers: { "Accept": "application/json" } });
    } catch (error) {
      state.health = null;
    }
    renderHealth();
    if (!state.last && !state.controller && (!state.status || state.status.kind === "ready")) showStatus("ready");
  }

  function renderHealth() {
    $("health").textContent = state.health
      ? t("health", { docs: state.health.documents, chunks: state.health.chunks }) : "";
  }

  // For upload.js (an ES module): the same key, prompt and labels as the rest of the page.
  window.GOVQA = { requestJSON, t, savedKey, askForKey, loadHealth, loadDocuments,
                   forgetDocuments: () => { state.documents = null; },
                   post, tidy };  // post and tidy: for support.js

  function start() {
    if (window.GOVQA_VIEWER) window.GOVQA_VIEWER.init({ t, requestJSON });
    applyLang();
    $("search-form").addEventListener("submit", (event) => {
      event.preventDefault();
      runSearch($("q").value);
    });
    for (const button of document.querySelectorAll(".lang-toggle button")) {
      button.addEventListener("click", () => setLang(button.dataset.lang));
    }
    window.addEventListener("hashchange", showView);
    showView();
    loadHealth();
    const query = new URL(window.location.href).searchParams.get("q");
    if (query && window.location.hash !== "#documents") {
      $("q").value = query;
      runSearch(query);
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
