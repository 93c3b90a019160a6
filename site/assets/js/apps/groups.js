// The members' application data-app="groups" (../members/start.js).
import { startApp } from "../members/start.js";
import { attestationBanner } from "../members/attestation.js";
import { initGroups } from "../members/groups.js";

startApp("groups", initGroups, attestationBanner);
