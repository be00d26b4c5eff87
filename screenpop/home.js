// The home page (`/`): the pages the logged-in user's role may open; the login when nobody is.
import { $, meta } from "./common.js";
import { listPages, pagesFor, startPage } from "./shell.js";

startPage({
  page: "home",
  onUser: (user) => {
    if (meta.hotline?.number) $("hotline").textContent = meta.hotline.number;
    listPages($("pages"), user);
    $("no-pages").hidden = pagesFor(user.role).length > 0;
  },
});
