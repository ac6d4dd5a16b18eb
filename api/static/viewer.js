// The citation viewer: a passage's page as an image with the passage's rectangles drawn on it,
// as a thumbnail on each result card and large in a dialog (previous/next page, zoom, the PDF at
// that page). Sources without pages (HTML, text) show their extracted text with the passage marked.
// Exposes window.GOVQA_VIEWER for app.js; every piece of server text goes in through textContent.

const LABELS = {
  ja: {
    viewerHint: "結果のページ画像をクリックすると、引用箇所を黄色で示したページを大きく表示します。",
    viewerOpen: "{title} {page}を開いて引用箇所を確認",
    viewerShowText: "本文を見る",
    viewerOpenText: "（{title}）",
    viewerClose: "閉じる",
    viewerPrev: "前のページ",
    viewerNext: "次のページ",
    viewerZoomIn: "拡大",
    viewerZoomOut: "縮小",
    viewerZoom: "表示倍率 {n}%",
    viewerWhere: "{page}（全{pages}ページ）",
    viewerBack: "引用箇所のページへ戻る",
    viewerPdf: "PDFをこのページで開く",
    viewerFile: "元のファイルを開く",
    viewerTools: "ページの操作",
    viewerRegion: "ページ画像",
    viewerTextRegion: "文書の本文",
    viewerPassage: "引用箇所のテキスト（コピー・ページ内検索用）",
    viewerAlt: "{title} {page}の画像。",
    viewerAltMarked: "引用箇所を黄色の枠で示しています。本文は下の「引用箇所のテキスト」にあります。",
    viewerNoBoxes: "このページでは引用箇所の位置を特定できませんでした。下のテキストで内容を確認してください。",
    viewerKeys: "← → でページ移動、+ − で拡大・縮小、Esc で閉じます。",
    viewerImageError: "ページ画像を表示できませんでした。",
    viewerLoading: "読み込んでいます…",
  },
  en: {
    viewerHint: "Click a result's page image to see the page large, with the cited passage marked in yellow.",
    viewerOpen: "Open {title}, {page} to check the passage",
    viewerShowText: "Show the text",
    viewerOpenText: " ({title})",
    viewerClose: "Close",
    viewerPrev: "Previous page",
    viewerNext: "Next page",
    viewerZoomIn: "Zoom in",
    viewerZoomOut: "Zoom out",
    viewerZoom: "Zoom {n}%",
    viewerWhere: "{page} of {pages}",
    viewerBack: "Back to the cited page",
    viewerPdf: "Open PDF at this page",
    viewerFile: "Open the original file",
    viewerTools: "Page controls",
    viewerRegion: "Page image",
    viewerTextRegion: "Document text",
    viewerPassage: "Passage text (to copy or search)",
    viewerAlt: "Image of {title}, {page}.",
    viewerAltMarked: "The cited passage is framed in yellow; its text is below under “Passage text”.",
    viewerNoBoxes: "The passage could not be located on this page; check it in the text below.",
    viewerKeys: "← → turn pages, + − zoom, Esc closes.",
    viewerImageError: "The page image could not be shown.",
    viewerLoading: "Loading…",
  },
};

const ZOOMS = [50, 75, 100, 150, 200, 300];
const THUMB_WIDTH = 400;  // pixels asked for a card's thumbnail (shown ~180 CSS px: sharp on 2x screens)
const CJK = "\u3000-\u30ff\u3400-\u9fff\uff00-\uffef";
const CJK_BREAK = new RegExp(`([${CJK}])\\s*\\n\\s*(?=[${CJK}])`, "g");

let api = null;  // {t, requestJSON}, given by app.js
const view = { hit: null, page: 1, zoom: 100, returnTo: null };
const $ = (id) => document.getElementById(id);

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

// A PDF's hard line breaks are layout, not meaning: joined without a space in Japanese, with one otherwise.
export function cleanText(text) {
  return String(text || "").replace(CJK_BREAK, "$1").replace(/\s*\n\s*/g, " ").trim();
}

export function imageUrl(hit, page, width) {
  const url = new URL(hit.image_url, window.location.href);
  url.pathname = url.pathname.replace(/\/pages\/\d+\/image$/, `/pages/${page}/image`);
  url.searchParams.set("width", String(Math.max(200, Math.min(1600, Math.round(width)))));
  return url.pathname + url.search;
}

function hasPages(hit) {
  return typeof hit.image_url === "string" && hit.image_url.length > 0;
}

// Rectangles in page-relative units become percentages, so they follow the image at any size.
function drawBoxes(frame, boxes) {
  for (const old of frame.querySelectorAll(".hl")) old.remove();
  for (const box of Array.isArray(boxes) ? boxes : []) {
    const [x0, y0, x1, y1] = box.map(Number);
    if (!(x1 > x0 && y1 > y0)) continue;
    const mark = el("span", "hl");
    mark.setAttribute("aria-hidden", "true");
    mark.style.left = `${x0 * 100}%`;
    mark.style.top = `${y0 * 100}%`;
    mark.style.width = `${(x1 - x0) * 100}%`;
    mark.style.height = `${(y1 - y0) * 100}%`;
    frame.append(mark);
  }
}

function pageLabel(n) {
  return api.t("page", { n });
}

/** The card's picture of the cited page (or, for a source without pages, a button to its text). */
export function thumbnail(hit) {
  const button = el("button", "thumb");
  button.type = "button";
  const title = hit.title || hit.doc_id;
  if (hasPages(hit)) {
    button.setAttribute("aria-label", api.t("viewerOpen", { title, page: pageLabel(hit.page) }));
    const frame = el("span", "page-frame");
    const img = el("img");
    img.alt = "";
    img.loading = "lazy";
    img.decoding = "async";
    img.src = imageUrl(hit, hit.page, THUMB_WIDTH);
    frame.append(img);
    drawBoxes(frame, hit.boxes);
    button.append(frame);
  } else {
    button.classList.add("thumb-text");
    button.append(el("span", "thumb-text-label", api.t("viewerShowText")));
    button.append(el("span", "visually-hidden", api.t("viewerOpenText", { title })));
  }
  button.addEventListener("click", () => open(hit, button));
  return button;
}

/** Open the viewer on the hit's page; focus goes back to `returnTo` when it closes. */
export function open(hit, returnTo) {
  const dialog = $("viewer");
  view.hit = hit;
  view.page = Number(hit.page) || 1;
  view.zoom = 100;
  view.returnTo = returnTo || document.activeElement;
  $("viewer-title").textContent = hit.title || hit.doc_id;
  const passage = $("viewer-passage");
  passage.textContent = cleanText(hit.text);
  if (hit.lang) passage.lang = hit.lang;
  $("viewer-passage-box").open = !hasPages(hit);
  if (!dialog.open) dialog.showModal();
  render();
  $("viewer-close").focus();
}

function render() {
  const hit = view.hit;
  if (!hit) return;
  const paged = hasPages(hit);
  const pages = Number(hit.pages) || Number(hit.page) || 1;
  $("viewer-page-tools").hidden = !paged;
  $("viewer-frame").hidden = !paged;
  $("viewer-doc-text").hidden = paged;
  $("viewer-where").textContent = api.t("viewerWhere", { page: pageLabel(view.page), pages });
  $("viewer-prev").disabled = view.page <= 1;
  $("viewer-next").disabled = view.page >= pages;
  $("viewer-back").hidden = view.page === Number(hit.page);
  $("viewer-zoom-level").textContent = api.t("viewerZoom", { n: view.zoom });
  $("viewer-zoom-out").disabled = view.zoom <= ZOOMS[0];
  $("viewer-zoom-in").disabled = view.zoom >= ZOOMS[ZOOMS.length - 1];
  const link = $("viewer-pdf");
  const fileUrl = String(hit.file_url || hit.url || "").split("#")[0];
  link.href = paged ? `${fileUrl}#page=${view.page}` : fileUrl;
  link.textContent = api.t(paged ? "viewerPdf" : "viewerFile");
  if (paged) renderPage(hit);
  else renderText(hit);
  // A button that just disabled or hid itself (last page, back on the cited page) would drop focus to the page behind.
  const focused = document.activeElement;
  if (focused && $("viewer").contains(focused) && (focused.disabled || focused.offsetParent === null)) {
    $("viewer-scroll").focus();
  }
}

function renderPage(hit) {
  const frame = $("viewer-frame");
  const img = $("viewer-img");
  const scroll = $("viewer-scroll");
  const onCited = view.page === Number(hit.page);
  const boxes = onCited ? hit.boxes || [] : [];
  frame.style.width = `${view.zoom}%`;
  const wanted = (scroll.clientWidth || 800) * (view.zoom / 100) * (window.devicePixelRatio || 1);
  const width = Math.min(1600, Math.ceil(wanted / 200) * 200);  // steps of 200: a few cached sizes, not one per window
  const title = hit.title || hit.doc_id;
  img.alt = api.t("viewerAlt", { title, page: pageLabel(view.page) }) + (boxes.length ? " " + api.t("viewerAltMarked") : "");
  $("viewer-no-boxes").hidden = !onCited || boxes.length > 0;
  $("viewer-error").hidden = true;
  drawBoxes(frame, boxes);
  const src = imageUrl(hit, view.page, width);
  frame.dataset.page = String(view.page);
  if (img.getAttribute("src") !== src) {
    frame.setAttribute("aria-busy", "true");
    img.src = src;
  } else {
    showPassage();
  }
}

function showPassage() {
  const first = $("viewer-frame").querySelector(".hl");
  const scroll = $("viewer-scroll");
  if (!first) return;
  const still = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  const top = first.offsetTop - scroll.clientHeight / 3;
  const left = first.offsetLeft - 16;
  scroll.scrollTo({ top: Math.max(0, top), left: Math.max(0, left), behavior: still ? "auto" : "smooth" });
}

async function renderText(hit) {
  const box = $("viewer-doc-text");
  box.replaceChildren(el("p", "viewer-loading", api.t("viewerLoading")));
  let text = "";
  try {
    const page = await api.requestJSON(`documents/${encodeURIComponent(hit.doc_id)}/pages/${hit.page}`,
      { headers: { Accept: "application/json" } });
    text = String(page.text || "");
  } catch (error) {
    box.replaceChildren(el("p", "viewer-error", error.message));
    return;
  }
  if (view.hit !== hit) return;
  // start/end are code-point offsets of the passage in the page text.
  const chars = Array.from(text);
  const start = Math.max(0, Math.min(chars.length, Number(hit.start) || 0));
  const end = Math.max(start, Math.min(chars.length, Number(hit.end) || 0));
  const body = el("div", "doc-text-body");
  if (hit.lang) body.lang = hit.lang;
  body.append(document.createTextNode(chars.slice(0, start).join("")));
  const mark = el("mark", "doc-passage", chars.slice(start, end).join(""));
  body.append(mark, document.createTextNode(chars.slice(end).join("")));
  box.replaceChildren(body);
  mark.scrollIntoView({ block: "center" });
}

function turn(delta) {
  const pages = Number(view.hit.pages) || 1;
  const next = Math.max(1, Math.min(pages, view.page + delta));
  if (next === view.page) return;
  view.page = next;
  render();
}

function zoom(direction) {
  const at = ZOOMS.indexOf(view.zoom);
  const next = ZOOMS[Math.max(0, Math.min(ZOOMS.length - 1, at + direction))];
  if (next === view.zoom) return;
  view.zoom = next;
  render();
  showPassage();
}

function onKey(event) {
  if (!view.hit || !hasPages(view.hit) || event.altKey || event.ctrlKey || event.metaKey) return;
  if (event.target.closest && event.target.closest("details, a")) return;
  const scroll = $("viewer-scroll");
  const canPan = scroll.scrollWidth > scroll.clientWidth + 1;
  if (event.key === "PageDown" || (event.key === "ArrowRight" && !canPan)) turn(1);
  else if (event.key === "PageUp" || (event.key === "ArrowLeft" && !canPan)) turn(-1);
  else if (event.key === "+" || event.key === "=") zoom(1);
  else if (event.key === "-") zoom(-1);
  else return;
  event.preventDefault();
}

function relabel() {
  for (const [lang, labels] of Object.entries(LABELS)) Object.assign(window.GOVQA_TEXT[lang], labels);
  if (api && view.hit && $("viewer").open) render();
}

/** Called once by app.js with its translator and its key-aware JSON fetcher. */
export function init(options) {
  api = options;
  const dialog = $("viewer");
  $("viewer-close").addEventListener("click", () => dialog.close());
  $("viewer-prev").addEventListener("click", () => turn(-1));
  $("viewer-next").addEventListener("click", () => turn(1));
  $("viewer-back").addEventListener("click", () => {
    view.page = Number(view.hit.page);
    render();
  });
  $("viewer-zoom-in").addEventListener("click", () => zoom(1));
  $("viewer-zoom-out").addEventListener("click", () => zoom(-1));
  document.addEventListener("keydown", (event) => { if (dialog.open) onKey(event); });
  document.addEventListener("govqa:lang", relabel);  // app.js switched the language
  dialog.addEventListener("click", (event) => { if (event.target === dialog) dialog.close(); });  // the backdrop
  dialog.addEventListener("close", () => {
    const back = view.returnTo;
    view.hit = null;
    if (back && back.isConnected) back.focus();
  });
  const img = $("viewer-img");
  img.addEventListener("load", () => { $("viewer-frame").removeAttribute("aria-busy"); showPassage(); });
  img.addEventListener("error", () => {
    $("viewer-frame").removeAttribute("aria-busy");
    if (view.hit) $("viewer-error").hidden = false;
  });
}

relabel();
window.GOVQA_VIEWER = { init, open, thumbnail, relabel, cleanText };
