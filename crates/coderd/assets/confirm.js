// Destructive buttons (data-confirm="question") ask before their form is
// posted; without JavaScript the form posts at once.
document.addEventListener("click", function (e) {
  var b = e.target.closest && e.target.closest("button[data-confirm]");
  if (b && !window.confirm(b.getAttribute("data-confirm"))) e.preventDefault();
});
