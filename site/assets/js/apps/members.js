// The members' application data-app="members" (../members/start.js).
import { startApp } from "../members/start.js";
import { attestationBanner } from "../members/attestation.js";
import { initMembers } from "../members/members.js";

startApp("members", initMembers, attestationBanner);
