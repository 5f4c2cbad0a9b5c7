// "New biopsy" picker (templates/pathology/biopsy_list.html): go to the chosen participant's entry page.
(function () {
  const form = document.getElementById("new-biopsy-form");
  if (!form) { return; }
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (form.p.value) { window.location = form.dataset.urlTemplate.replace("{pk}", form.p.value); }
  });
})();
