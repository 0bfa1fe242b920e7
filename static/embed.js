// The search widget other sites embed with two lines:
//   <script src="https://SEARCH-HOST/embed.js" defer></script>
//   <div data-searchapp data-source="NAM-media" data-language="uk" data-per-page="5"></div>
// It calls the JSON API of the host it was loaded from and builds every node with DOM APIs: text from the
// index is only ever set as textContent, never parsed as HTML.
(function () {
  "use strict";

  var script = document.currentScript || document.querySelector('script[src$="/embed.js"]');
  if (!script) {
    return;
  }
  var ORIGIN = new URL(script.src, location.href).origin;
  var DEFAULT_PER_PAGE = 5;
  var MAX_PER_PAGE = 20;
  var FACETS_SHOWN = 6;
  var MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December"];
  var ENTITIES = { lt: "<", gt: ">", amp: "&", quot: "\"", "#39": "'", "#x27": "'" };
  // Scoped to the widget's classes: the host page's own elements are never styled. Font and colours are
  // inherited from the host; lines and marks are drawn in translucent currentColor so any theme works.
  var STYLES = [
    ".searchapp-embed{font:inherit;color:inherit;line-height:1.5;max-width:100%;text-align:start}",
    ".searchapp-embed *{box-sizing:border-box}",
    ".searchapp-embed .searchapp-label{display:block;font-weight:bold;margin:0 0 .3em}",
    ".searchapp-embed .searchapp-row{display:flex;gap:.4em;margin:0}",
    ".searchapp-embed .searchapp-input{flex:1;min-width:0;font:inherit;color:inherit;background:transparent;" +
      "border:1px solid currentColor;border-radius:4px;padding:.4em .6em;margin:0}",
    ".searchapp-embed .searchapp-button,.searchapp-embed .searchapp-facet,.searchapp-embed .searchapp-more{font:inherit;" +
      "color:inherit;background:transparent;border:1px solid currentColor;border-radius:4px;padding:.4em .9em;" +
      "cursor:pointer;margin:0;text-transform:none}",
    ".searchapp-embed .searchapp-status{margin:.6em 0;font-size:.9em;opacity:.8}",
    ".searchapp-embed .searchapp-facets{list-style:none;display:flex;flex-wrap:wrap;gap:.35em;margin:0 0 .6em;padding:0}",
    ".searchapp-embed .searchapp-facets li{margin:0;padding:0}",
    ".searchapp-embed .searchapp-facet{font-size:.85em;border-radius:999px;padding:.15em .75em;opacity:.85}",
    ".searchapp-embed .searchapp-facet[aria-pressed=true]{opacity:1;font-weight:bold;box-shadow:inset 0 0 0 1px currentColor}",
    ".searchapp-embed .searchapp-hits{list-style:none;margin:0;padding:0}",
    ".searchapp-embed .searchapp-hit{margin:0;padding:.7em 0;border-top:1px solid rgba(128,128,128,.35)}",
    ".searchapp-embed .searchapp-title{font-weight:bold}",
    ".searchapp-embed .searchapp-meta{display:block;font-size:.85em;opacity:.75}",
    ".searchapp-embed .searchapp-snippet{margin:.25em 0 0}",
    ".searchapp-embed mark{background:rgba(255,200,0,.4);color:inherit;padding:0 .1em}",
    ".searchapp-embed .searchapp-footer{margin:.6em 0 0;display:flex;flex-wrap:wrap;gap:.6em;align-items:center;font-size:.9em}",
    ".searchapp-embed :focus-visible{outline:2px solid currentColor;outline-offset:2px}"
  ].join("\n");
  var widgets = 0;

  function addStyles() {
    if (document.getElementById("searchapp-embed-styles") || addStyles.done) {
      return;
    }
    addStyles.done = true;
    // A constructed stylesheet is not inline style: it works on host pages whose CSP forbids inline styles.
    if (window.CSSStyleSheet && "adoptedStyleSheets" in document) {
      try {
        var sheet = new CSSStyleSheet();
        sheet.replaceSync(STYLES);
        document.adoptedStyleSheets = document.adoptedStyleSheets.concat([sheet]);
        return;
      } catch (error) {
        // Older engines without constructable sheets fall through to a <style> element.
      }
    }
    var style = document.createElement("style");
    style.id = "searchapp-embed-styles";
    style.textContent = STYLES;
    document.head.appendChild(style);
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text !== undefined) {
      node.textContent = text;
    }
    return node;
  }

  function unescapeText(text) {
    return text.replace(/&(lt|gt|amp|quot|#39|#x27);/g, function (match, name) {
      return ENTITIES[name];
    });
  }

  // The API's snippet_html is escaped text with <mark> around matches: split on the two tags and turn
  // every piece back into plain text, so nothing in it can become markup.
  function appendMarked(parent, html) {
    html.split(/<mark>|<\/mark>/).forEach(function (part, index) {
      var text = unescapeText(part);
      if (!text) {
        return;
      }
      parent.appendChild(index % 2 ? el("mark", "", text) : document.createTextNode(text));
    });
  }

  function dateText(iso) {
    if (!iso) {
      return "date unknown";
    }
    var noYear = /^--(\d{2})(?:-(\d{2}))?$/.exec(iso);
    if (noYear) {
      return dayMonth(noYear[1], noYear[2]) + ", year unknown";
    }
    var full = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$/.exec(iso);
    if (!full) {
      return iso;
    }
    return full[2] ? dayMonth(full[2], full[3]) + " " + full[1] : full[1];
  }

  function dayMonth(month, day) {
    var name = MONTHS[Number(month) - 1] || "";
    return day ? Number(day) + " " + name : name;
  }

  function webUrl(url) {
    // Only web addresses become links: a javascript: URL in a document must not run on click.
    return typeof url === "string" && /^https?:\/\//i.test(url) ? url : null;
  }

  function plural(n) {
    return n.toLocaleString("en") + (n === 1 ? " press release" : " press releases");
  }

  function mount(host) {
    if (host.getAttribute("data-searchapp-ready")) {
      return;
    }
    host.setAttribute("data-searchapp-ready", "1");
    widgets += 1;
    var perPage = Math.min(MAX_PER_PAGE, Math.max(1, parseInt(host.getAttribute("data-per-page"), 10) || DEFAULT_PER_PAGE));
    var preset = (host.getAttribute("data-source") || "").trim();
    var presetLanguage = (host.getAttribute("data-language") || "").trim();
    var state = { q: "", sources: preset ? [preset] : [], languages: presetLanguage ? [presetLanguage] : [], page: 1 };
    var latest = 0;

    var root = el("div", "searchapp-embed");
    var form = el("form", "searchapp-form");
    form.setAttribute("role", "search");
    var inputId = "searchapp-q-" + widgets;
    var label = el("label", "searchapp-label", "Search press releases");
    label.htmlFor = inputId;
    var row = el("div", "searchapp-row");
    var input = el("input", "searchapp-input");
    input.type = "search";
    input.id = inputId;
    input.name = "q";
    input.autocomplete = "off";
    var button = el("button", "searchapp-button", "Search");
    button.type = "submit";
    row.append(input, button);
    form.append(label, row);
    var status = el("p", "searchapp-status");
    status.setAttribute("role", "status");
    status.setAttribute("aria-live", "polite");
    var facets = el("ul", "searchapp-facets");
    facets.setAttribute("aria-label", "Sources");
    var languages = el("ul", "searchapp-facets searchapp-languages");
    languages.setAttribute("aria-label", "Languages");
    var hits = el("ol", "searchapp-hits");
    var footer = el("p", "searchapp-footer");
    root.append(form, status, facets, languages, hits, footer);
    host.replaceChildren(root);

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      state.q = input.value.trim();
      state.page = 1;
      run(false);
    });

    function params(page) {
      var p = new URLSearchParams();
      if (state.q) {
        p.set("q", state.q);
      }
      state.sources.forEach(function (source) {
        p.append("source", source);
      });
      state.languages.forEach(function (language) {
        p.append("language", language);
      });
      if (page > 1) {
        p.set("page", String(page));
      }
      return p;
    }

    function run(append) {
      var ticket = ++latest;
      var p = params(state.page);
      p.set("per_page", String(perPage));
      status.textContent = "Searching…";
      root.setAttribute("aria-busy", "true");
      fetch(ORIGIN + "/api/search?" + p.toString(), { mode: "cors", credentials: "omit" })
        .then(function (response) {
          return response.json().then(function (body) {
            if (!body.ok) {
              throw new Error(body.error || "the search failed");
            }
            return body;
          });
        })
        .then(function (body) {
          if (ticket === latest) {
            render(body, append);
          }
        })
        .catch(function (error) {
          if (ticket === latest) {
            status.textContent = "The search is not available right now (" + error.message + ").";
          }
        })
        .then(function () {
          root.removeAttribute("aria-busy");
        });
    }

    function render(body, append) {
      // The sources as the search read them: full names, so a facet toggles what data-source preset.
      state.sources = body.query.source.slice();
      state.languages = body.query.language.slice();
      status.textContent = state.q ? plural(body.total) + " for “" + state.q + "”" :
        plural(body.total) + ", newest first";
      renderFacets(body.facets.source);
      renderLanguages(body.facets.language);
      if (!append) {
        hits.replaceChildren();
      }
      body.results.forEach(function (hit) {
        hits.appendChild(renderHit(hit));
      });
      renderFooter(body);
    }

    function renderFacets(values) {
      facets.replaceChildren();
      var shown = values.filter(function (v, i) {
        return i < FACETS_SHOWN || v.selected;
      });
      shown.forEach(function (v) {
        var item = el("li");
        var toggle = el("button", "searchapp-facet", v.value + " (" + v.count.toLocaleString("en") + ")");
        toggle.type = "button";
        toggle.setAttribute("aria-pressed", String(Boolean(v.selected)));
        toggle.addEventListener("click", function () {
          state.sources = v.selected ? state.sources.filter(function (s) { return s !== v.value; }) :
            state.sources.concat([v.value]);
          state.page = 1;
          run(false);
        });
        item.appendChild(toggle);
        facets.appendChild(item);
      });
    }

    // Each language by its own name; one language alone, and not chosen, is nothing to choose between.
    function renderLanguages(values) {
      languages.replaceChildren();
      if (values.length < 2 && !values.some(function (v) { return v.selected; })) {
        return;
      }
      values.forEach(function (v) {
        var item = el("li");
        var toggle = el("button", "searchapp-facet");
        var name = el("span", "", v.name);
        if (!v.unknown) {
          name.lang = v.value;
        }
        toggle.append(name, " (" + v.count.toLocaleString("en") + ")");
        toggle.type = "button";
        toggle.setAttribute("aria-pressed", String(Boolean(v.selected)));
        toggle.addEventListener("click", function () {
          state.languages = v.selected ? state.languages.filter(function (l) { return l !== v.value; }) :
            state.languages.concat([v.value]);
          state.page = 1;
          run(false);
        });
        item.appendChild(toggle);
        languages.appendChild(item);
      });
    }

    function renderHit(hit) {
      var item = el("li", "searchapp-hit");
      var href = webUrl(hit.url) ||
        ORIGIN + "/documents/" + encodeURIComponent(hit.id) + (state.q ? "?q=" + encodeURIComponent(state.q) : "");
      var title = el("a", "searchapp-title");
      title.href = href;
      if (hit.title_html) {
        appendMarked(title, hit.title_html);
      } else {
        title.textContent = hit.title || "Untitled press release";
      }
      var meta = el("span", "searchapp-meta", (hit.source || "Unknown source") + " · " + dateText(hit.date));
      var snippet = el("p", "searchapp-snippet");
      appendMarked(snippet, hit.snippet_html || "");
      if (hit.language && hit.language !== "en") {
        title.lang = hit.language;
        snippet.lang = hit.language;
      }
      item.append(title, meta);
      if (snippet.firstChild) {
        item.appendChild(snippet);
      }
      return item;
    }

    function renderFooter(body) {
      footer.replaceChildren();
      if (body.query.page < body.pages) {
        var more = el("button", "searchapp-more", "More results");
        more.type = "button";
        more.addEventListener("click", function () {
          state.page += 1;
          run(true);
        });
        footer.appendChild(more);
      }
      var query = params(1).toString();
      var all = el("a", "searchapp-all", "All results on the search site");
      all.href = ORIGIN + "/" + (query ? "?" + query : "");
      footer.appendChild(all);
    }

    run(false);
  }

  function start() {
    var hosts = document.querySelectorAll("[data-searchapp]");
    if (hosts.length) {
      addStyles();
    }
    hosts.forEach(mount);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
