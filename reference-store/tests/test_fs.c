#include "rs.h"
int main(void){return 0;}
