// Gongkai: progressive enhancement only. Every page works without this file.
"use strict";

(function () {
  // As-you-type suggestions for the search box, from GET /suggest (titles and terms).
  function suggestions() {
    var input = document.getElementById("q");
    var list = document.getElementById("q-suggestions");
    if (!input || !list || !window.fetch) return;
    var timer = null;
    var latest = "";
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var typed = input.value.trim();
        if (!typed || typed === latest) return;
        latest = typed;
        fetch("/suggest?limit=8&q=" + encodeURIComponent(typed), { headers: { Accept: "application/json" } })
          .then(function (r) { return r.ok ? r.json() : { titles: [], terms: [] }; })
          .then(function (data) {
            if (typed !== latest) return; // an older answer arriving late
            list.replaceChildren();
            (data.terms || []).concat(data.titles || []).forEach(function (text) {
              var option = document.createElement("option");
              option.value = text; // textContent-safe: never parsed as HTML
              list.appendChild(option);
            });
          })
          .catch(function () { /* suggestions are optional */ });
      }, 150);
    });
  }

  // Filters apply as soon as a box is ticked (without script: the "应用筛选" button).
  function autoSubmitFilters() {
    var form = document.getElementById("search-form");
    if (!form) return;
    form.querySelectorAll(".facet input[type=checkbox], .facet input[type=radio], #sort").forEach(function (el) {
      el.addEventListener("change", function () { form.requestSubmit ? form.requestSubmit() : form.submit(); });
    });
  }

  // On a phone the filter panel starts folded so the results come first on screen.
  function foldFiltersOnPhones() {
    var panel = document.querySelector(".facet-panel");
    if (panel && window.matchMedia && window.matchMedia("(max-width: 899px)").matches) {
      panel.open = false;
    }
  }

  // Drag to reorder compilation entries; the up/down buttons do the same without script.
  function dragReorder() {
    var list = document.querySelector("[data-reorder-url]");
    if (!list) return;
    var dragged = null;
    list.querySelectorAll(".entry").forEach(function (item) {
      item.setAttribute("draggable", "true");
      item.addEventListener("dragstart", function () { dragged = item; item.classList.add("dragging"); });
      item.addEventListener("dragend", function () { item.classList.remove("dragging"); dragged = null; });
      item.addEventListener("dragover", function (e) {
        e.preventDefault();
        if (!dragged || dragged === item || dragged.parentNode !== item.parentNode) return;
        var box = item.getBoundingClientRect();
        var after = e.clientY > box.top + box.height / 2;
        item.parentNode.insertBefore(dragged, after ? item.nextSibling : item);
      });
      item.addEventListener("drop", function (e) {
        e.preventDefault();
        var form = document.getElementById("reorder-form");
        if (!form) return;
        var order = Array.prototype.map.call(list.querySelectorAll(".entry"), function (el) { return el.dataset.docId; });
        form.querySelector("input[name=order]").value = order.join("\n");
        form.submit();
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    suggestions();
    foldFiltersOnPhones();
    autoSubmitFilters();
    dragReorder();
  });
})();
