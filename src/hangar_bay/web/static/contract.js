// Progressive enhancement only. The ship render comes from images.evetech.net; when that
// host cannot be reached, hide the image instead of showing a broken-image icon: the
// name and class beneath it already say what the ship is.
(() => {
  const hide = (img) => { img.hidden = true; img.closest("figure")?.classList.add("no-image"); };
  for (const img of document.querySelectorAll("img.render-img")) {
    if (img.complete && img.naturalWidth === 0) hide(img);
    else img.addEventListener("error", () => hide(img), { once: true });
  }
})();
