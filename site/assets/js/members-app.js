// The members' applications (pages whose layout holds a [data-app]
// element: login, account, research library, administration, training
// statistics): a bundle of their own, which only those pages load, so that
// the public pages stay within their weight budget (docs/benchmarks.md).
import { initMembers } from "./members/index.js";

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", initMembers);
} else {
  initMembers();
}
