/* Intentionally empty: the code comes from the system library. */
