// The members' application data-app="accept" (../members/start.js).
import { startApp } from "../members/start.js";
import { initAccept } from "../members/accept.js";

startApp("accept", initAccept);
