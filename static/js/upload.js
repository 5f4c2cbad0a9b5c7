// Upload with a progress bar (templates/imaging/upload.html); a file, not inline, for the CSP.
(function () {
  const form = document.getElementById("upload-form");
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    const data = new FormData();
    data.append("csrfmiddlewaretoken", form.querySelector("[name=csrfmiddlewaretoken]").value);
    data.append("series_instance_uid", form.querySelector("[name=series_instance_uid]").value);
    for (const input of form.querySelectorAll("input[type=file]")) {
      for (const file of input.files) { data.append("files", file, file.name); }
    }
    const box = document.getElementById("progress-box"), bar = document.getElementById("progress"),
          text = document.getElementById("progress-text"), errors = document.getElementById("errors");
    errors.hidden = true; box.hidden = false;
    const xhr = new XMLHttpRequest();
    xhr.open("POST", window.location.pathname);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.setRequestHeader("X-CSRFToken", data.get("csrfmiddlewaretoken"));
    xhr.upload.onprogress = function (e) {
      if (e.lengthComputable) { bar.value = Math.round(100 * e.loaded / e.total); text.textContent = bar.value + " % sent"; }
    };
    xhr.upload.onload = function () { text.textContent = "Sent; validating and de-identifying…"; };
    xhr.onload = function () {
      let body = {};
      try { body = JSON.parse(xhr.responseText); } catch (e) { body = {errors: {files: ["Upload failed (" + xhr.status + ")."]}}; }
      if (xhr.status === 201 && body.redirect) { window.location = body.redirect; return; }
      box.hidden = true; errors.hidden = false; errors.textContent = "";
      for (const messages of Object.values(body.errors || {})) {
        for (const m of messages) { const div = document.createElement("div"); div.textContent = m; errors.appendChild(div); }
      }
    };
    xhr.onerror = function () { box.hidden = true; errors.hidden = false; errors.textContent = "The connection failed during the upload."; };
    xhr.send(data);
  });
})();
