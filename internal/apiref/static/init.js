// Renders the OpenAPI document named by #ui's data-spec with the vendored
// Swagger UI. A file, not an inline script: the page's CSP allows 'self' only.
"use strict";
window.addEventListener("DOMContentLoaded", function () {
  var ui = document.getElementById("ui");
  window.SwaggerUIBundle({
    url: ui.dataset.spec,
    domNode: ui,
    // The default validator badge calls validator.swagger.io; none here.
    validatorUrl: null,
    deepLinking: true,
    docExpansion: "list",
    defaultModelsExpandDepth: 0,
    tryItOutEnabled: false
  });
});
