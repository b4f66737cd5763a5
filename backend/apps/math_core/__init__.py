"""The HTTP face of the calculators (`/api/v2/math/...`); the app label stays `math_core`."""
