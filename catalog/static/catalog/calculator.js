"use strict";
// Progressive enhancement of the price calculator: show the result without leaving the page.
// Without JavaScript the form is a plain GET to the calculator page, which renders the same result.
(function () {
    document.addEventListener("submit", function (event) {
        const form = event.target;
        if (!(form instanceof HTMLFormElement) || !form.classList.contains("catalog-calculator-form")) {
            return;
        }
        event.preventDefault();
        const url = new URL(form.action, window.location.href);
        for (const [name, value] of new FormData(form)) {
            url.searchParams.set(name, value);
        }
        url.searchParams.set("partial", "1");
        fetch(url, {credentials: "same-origin", headers: {"X-Requested-With": "XMLHttpRequest"}})
            .then(function (response) {
                if (!response.ok) {
                    throw new Error(response.statusText);
                }
                return response.text();
            })
            .then(function (html) {
                const template = document.createElement("template");
                template.innerHTML = html.trim();
                const fresh = template.content.querySelector(".catalog-calculator");
                const section = form.closest(".catalog-calculator");
                if (!fresh || !section) {
                    throw new Error("unexpected answer");
                }
                section.replaceWith(fresh);
                const target = fresh.querySelector(".errorlist, .errornote, .catalog-total") || fresh;
                target.setAttribute("tabindex", "-1");
                target.focus();
            })
            .catch(function () {
                form.submit(); // fall back to loading the calculator page
            });
    });
})();
