/* A static true: the end of every benchmarked chain. */
int main(void) { return 0; }
