// The members' application data-app="notifications" (../members/start.js).
import { startApp } from "../members/start.js";
import { attestationBanner } from "../members/attestation.js";
import { initNotifications } from "../alerts/notifications.js";

startApp("notifications", initNotifications, attestationBanner);
