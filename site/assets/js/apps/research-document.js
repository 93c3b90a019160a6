// The members' application data-app="research-document" (../members/start.js).
import { startApp } from "../members/start.js";
import { attestationBanner } from "../members/attestation.js";
import { initResearchDocument } from "../research/document.js";

startApp("research-document", initResearchDocument, attestationBanner);
