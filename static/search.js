// Makes the search page quicker, never required: it fetches the HTML of the next state's URL and swaps
// the parts that change, keeps the URL in history, and adds conveniences to the filters.
(function () {
  "use strict";

  // Parts of the page that a new search replaces; everything else stays put (and keeps focus).
  var REGIONS = ["form-state", "region", "json-twin", "feed-link"];
  // Sources listed before "show all"; selected ones are always listed.
  var SOURCES_SHOWN = 8;
  var NARROW = window.matchMedia("(max-width: 51.99rem)");

  document.documentElement.classList.add("js");

  var form = document.getElementById("search-form");
  if (!form) {
    return;
  }
  var searchPath = new URL(form.action, location.href).pathname;
  var inFlight = null;
  // The search this page shows; a history step that only changes the #fragment (the skip link) keeps it.
  var shownSearch = location.pathname + location.search;
  var filtersOpen = !NARROW.matches;
  var showAllSources = false;

  function isSearchUrl(url) {
    return url.origin === location.origin && url.pathname === searchPath;
  }

  function formUrl() {
    var params = new URLSearchParams();
    new FormData(form).forEach(function (value, name) {
      // Empty fields are left out so the URL stays readable: ?q=sanctions, not ?q=sanctions&from=&to=.
      if (String(value).trim() !== "") {
        params.append(name, value);
      }
    });
    var query = params.toString();
    return new URL(searchPath + (query ? "?" + query : ""), location.href);
  }

  function navigate(url, push, focusResults) {
    if (inFlight) {
      inFlight.abort();
    }
    inFlight = new AbortController();
    var region = document.getElementById("region");
    region.classList.add("is-loading");
    region.setAttribute("aria-busy", "true");
    fetch(url.href, { signal: inFlight.signal, headers: { Accept: "text/html" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("status " + response.status);
        }
        return response.text();
      })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html");
        if (!fresh.getElementById("region")) {
          throw new Error("not a search page");
        }
        swap(fresh, push ? url : null, focusResults);
      })
      .catch(function (error) {
        if (error.name !== "AbortError") {
          // Errors get their own page: a full load shows it, with its way out.
          location.assign(url.href);
        }
      });
  }

  function swap(fresh, pushUrl, focusResults) {
    var focusedId = document.activeElement && document.activeElement.id;
    REGIONS.forEach(function (id) {
      var old = document.getElementById(id);
      var replacement = fresh.getElementById(id);
      if (old && replacement) {
        old.replaceWith(document.importNode(replacement, true));
      }
    });
    document.getElementById("q").value = fresh.getElementById("q").value;
    document.title = fresh.title;
    if (pushUrl) {
      history.pushState({ search: true }, "", pushUrl.href);
    }
    shownSearch = location.pathname + location.search;
    enhance();
    var heading = document.getElementById("results-heading");
    var again = focusedId && document.getElementById(focusedId);
    if (focusResults || !again) {
      heading.focus({ preventScroll: true });
      if (heading.getBoundingClientRect().top < 0) {
        heading.scrollIntoView();
      }
    } else {
      again.focus();
    }
    document.getElementById("search-status").textContent = heading.textContent.replace(/\s+/g, " ").trim();
  }

  function enhance() {
    var panel = document.querySelector(".filters-panel");
    if (panel) {
      panel.open = filtersOpen || !NARROW.matches;
      panel.addEventListener("toggle", function () {
        if (NARROW.matches) {
          filtersOpen = panel.open;
        }
      });
    }
    var list = document.getElementById("source-list");
    if (!list) {
      return;
    }
    var box = document.querySelector("[data-facet-filter]");
    var input = box && box.querySelector("input");
    if (box) {
      box.hidden = false;
      input.addEventListener("input", function () {
        layoutSources(list, input.value);
      });
    }
    var items = list.querySelectorAll("li");
    if (items.length > SOURCES_SHOWN) {
      var more = document.createElement("button");
      more.type = "button";
      more.className = "facet-more";
      more.setAttribute("aria-controls", "source-list");
      more.addEventListener("click", function () {
        showAllSources = !showAllSources;
        layoutSources(list, input ? input.value : "");
      });
      list.after(more);
    }
    layoutSources(list, input ? input.value : "");
  }

  function layoutSources(list, filterText) {
    var wanted = filterText.trim().toLowerCase();
    var items = list.querySelectorAll("li");
    var shown = 0;
    items.forEach(function (item, index) {
      var name = item.querySelector(".facet-name").textContent.toLowerCase();
      var checked = item.querySelector("input").checked;
      var visible = wanted ? name.indexOf(wanted) !== -1 : showAllSources || index < SOURCES_SHOWN || checked;
      item.hidden = !visible;
      shown += visible ? 1 : 0;
    });
    var more = list.parentNode.querySelector(".facet-more");
    if (more) {
      more.hidden = Boolean(wanted);
      more.setAttribute("aria-expanded", String(showAllSources));
      more.textContent = showAllSources ? "Show fewer sources" : "Show all " + items.length + " sources";
    }
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    navigate(formUrl(), true, true);
  });

  document.addEventListener("change", function (event) {
    var target = event.target;
    // Ticking a source applies it at once; dates wait for "Apply dates" (typing one fires change per digit).
    if (target.matches && target.matches('input[type="checkbox"][form="search-form"]')) {
      navigate(formUrl(), true, false);
    }
  });

  document.addEventListener("click", function (event) {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) {
      return;
    }
    var link = event.target.closest && event.target.closest("a[href]");
    if (!link || !link.closest("#region")) {
      return;
    }
    // SVG links (the date chart) keep their href in an attribute, not a string property.
    var url = new URL(link.getAttribute("href"), location.href);
    if (!isSearchUrl(url)) {
      return;
    }
    event.preventDefault();
    navigate(url, true, Boolean(link.closest(".pagination, .no-results")));
  });

  window.addEventListener("popstate", function () {
    if (location.pathname + location.search !== shownSearch) {
      navigate(new URL(location.href), false, false);
    }
  });

  if (NARROW.addEventListener) {
    NARROW.addEventListener("change", function () {
      var panel = document.querySelector(".filters-panel");
      if (panel) {
        panel.open = filtersOpen || !NARROW.matches;
      }
    });
  }

  // On a phone the filters start folded under their summary, so results come first.
  filtersOpen = !NARROW.matches;
  enhance();
})();
