"use strict";
// On the price form, show the fields the chosen pricing model uses. A field that already has a
// value or an error stays visible, so nothing typed is ever hidden from the person saving.
(function () {
    const USED_BY = {
        flat: ["flat_amount"],
        per_unit: ["unit_amount"],
        package: ["unit_amount", "package_size", "package_rounding"],
        graduated: ["tiers"],
        volume: ["tiers"],
    };
    const MODEL_FIELDS = ["unit_amount", "flat_amount", "package_size", "package_rounding", "tiers"];
    const METERED_FIELDS = ["metric", "time_zone", "rate_windows"];
    const EMPTY = new Set(["", "0", "0.0", "0.00"]);

    function element(name) {
        if (name === "tiers" || name === "rate_windows") {
            return document.getElementById(name + "-group");
        }
        return document.querySelector(".form-row.field-" + name);
    }

    function hasEntry(el, name) {
        if (el.querySelector(".errorlist, .errornote, .errors")) {
            return true;
        }
        if (name === "tiers" || name === "rate_windows") {
            if (el.querySelector("tr.catalog-existing-row")) {
                return true;
            }
            const inputs = el.querySelectorAll("tr.form-row:not(.empty-form) input[type=text]");
            return Array.from(inputs).some(function (input) { return !EMPTY.has(input.value.trim()); });
        }
        if (name === "package_rounding" || name === "metric" || name === "time_zone") {
            return false; // these always carry a default value
        }
        const input = el.querySelector("input[type=text], textarea");
        return input !== null && !EMPTY.has(input.value.trim());
    }

    function show(name, wanted) {
        const el = element(name);
        if (el) {
            el.classList.toggle("catalog-hidden", !(wanted || hasEntry(el, name)));
        }
    }

    function update() {
        const model = document.getElementById("id_pricing_model");
        const usage = document.getElementById("id_usage_type");
        const used = USED_BY[model.value] || MODEL_FIELDS;
        MODEL_FIELDS.forEach(function (name) { show(name, used.includes(name)); });
        const metered = usage ? usage.value === "metered" : true;
        METERED_FIELDS.forEach(function (name) {
            show(name, metered && (name !== "rate_windows" || model.value === "per_unit"));
        });
    }

    document.addEventListener("DOMContentLoaded", function () {
        const model = document.getElementById("id_pricing_model");
        if (!model) {
            return; // a read-only page
        }
        model.addEventListener("change", update);
        const usage = document.getElementById("id_usage_type");
        if (usage) {
            usage.addEventListener("change", update);
        }
        update();
    });
})();
