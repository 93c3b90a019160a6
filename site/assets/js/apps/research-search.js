// The members' application data-app="research-search" (../members/start.js).
import { startApp } from "../members/start.js";
import { attestationBanner } from "../members/attestation.js";
import { initResearchSearch } from "../research/search.js";

startApp("research-search", initResearchSearch, attestationBanner);
