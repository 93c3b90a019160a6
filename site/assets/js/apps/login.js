// The members' application data-app="login" (../members/start.js).
import { startApp } from "../members/start.js";
import { initLogin } from "../members/login.js";

startApp("login", initLogin);
