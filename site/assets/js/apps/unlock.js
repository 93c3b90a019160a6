// The members' application data-app="unlock" (../members/start.js).
import { startApp } from "../members/start.js";
import { initUnlock } from "../members/unlock.js";

startApp("unlock", initUnlock);
