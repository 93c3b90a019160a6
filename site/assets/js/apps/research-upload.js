// The members' application data-app="research-upload" (../members/start.js).
import { startApp } from "../members/start.js";
import { attestationBanner } from "../members/attestation.js";
import { initResearchUpload } from "../research/upload.js";

startApp("research-upload", initResearchUpload, attestationBanner);
