// uPlot (desk/static/vendor/uplot, MIT) for the supervisors' charts (Bot tab, supervisor tab), imported the
// first time a chart is drawn, so agents never load it.

import { h } from "./console-dom.js";

let uplotModule = null;

/** uPlot and its stylesheet, fetched once (a failed fetch is tried again next time). */
export function loadUplot() {
  if (!uplotModule) {
    if (!document.querySelector("link[data-uplot]")) {
      document.head.append(h("link", { rel: "stylesheet", href: "/static/vendor/uplot/uPlot.min.css", data: { uplot: "" } }));
    }
    uplotModule = import("./vendor/uplot/uPlot.esm.js").then(
      (module) => module.default,
      (exc) => {
        uplotModule = null;
        throw exc;
      },
    );
  }
  return uplotModule;
}
