// The only script of the app: archived images and videos stay blurred until clicked.
document.addEventListener("click", (event) => {
  const figure = event.target.closest("figure.blurrable");
  if (figure && !figure.classList.contains("revealed")) {
    figure.classList.add("revealed");
    event.preventDefault();
  }
});
