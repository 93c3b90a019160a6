// The members' application data-app="audit" (../members/start.js).
import { startApp } from "../members/start.js";
import { attestationBanner } from "../members/attestation.js";
import { initAudit } from "../members/audit.js";

startApp("audit", initAudit, attestationBanner);
