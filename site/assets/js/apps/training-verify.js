// The members' application data-app="training-verify" (../members/start.js).
import { startApp } from "../members/start.js";
import { initTrainingVerify } from "../training/verify.js";

startApp("training-verify", initTrainingVerify);
