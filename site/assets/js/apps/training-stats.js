// The members' application data-app="training-stats" (../members/start.js).
import { startApp } from "../members/start.js";
import { attestationBanner } from "../members/attestation.js";
import { initTrainingStats } from "../training/stats.js";

startApp("training-stats", initTrainingStats, attestationBanner);
