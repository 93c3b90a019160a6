// The members' application data-app="unsubscribe" (../members/start.js).
import { startApp } from "../members/start.js";
import { attestationBanner } from "../members/attestation.js";
import { initUnsubscribe } from "../alerts/unsubscribe.js";

startApp("unsubscribe", initUnsubscribe, attestationBanner);
